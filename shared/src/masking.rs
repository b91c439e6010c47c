//! Masking of secrets in every API response (design §2).

/// `EAATestAccessToken123456789` → `EAATestAcc***456789`; 8–23 characters → `***` + last 4;
/// shorter → `***`. Counts characters, not bytes, so multi-byte text never splits.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let n = chars.len();
    if n >= 24 {
        let head: String = chars[..10].iter().collect();
        let tail: String = chars[n - 6..].iter().collect();
        format!("{head}***{tail}")
    } else if n >= 8 {
        let tail: String = chars[n - 4..].iter().collect();
        format!("***{tail}")
    } else {
        "***".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn design_example() {
        assert_eq!(mask("EAATestAccessToken123456789"), "EAATestAcc***456789");
    }

    #[test]
    fn boundaries() {
        assert_eq!(mask(""), "***");
        assert_eq!(mask("1234567"), "***");
        assert_eq!(mask("12345678"), "***5678");
        let s23 = "abcdefghijklmnopqrstuvw";
        assert_eq!(s23.len(), 23);
        assert_eq!(mask(s23), "***tuvw");
        let s24 = "abcdefghijklmnopqrstuvwx";
        assert_eq!(mask(s24), "abcdefghij***stuvwx");
    }

    #[test]
    fn counts_characters_not_bytes() {
        // 8 characters, 16 bytes: the 8–23 rule applies and no character is cut.
        assert_eq!(mask("éééééééé"), "***éééé");
        assert_eq!(mask("ééééééé"), "***");
    }

    #[test]
    fn never_reveals_more_than_sixteen_characters() {
        let long = "x".repeat(200);
        assert_eq!(mask(&long).len(), 19);
    }
}
