//! Masking of secrets in every API response.

/// `EAATestAccessToken123456789` → `EAATestAcc***456789`; 8–23 characters → `***` + last 4;
/// shorter → `***`. Counts characters, not bytes, so multi-byte text never splits.
pub fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    // Byte offset of the character at `index`, so slicing never splits a character.
    let at = |index: usize| {
        secret
            .char_indices()
            .nth(index)
            .map_or(secret.len(), |(offset, _)| offset)
    };
    let (head, tail) = if n >= 24 {
        (&secret[..at(10)], &secret[at(n - 6)..])
    } else if n >= 8 {
        ("", &secret[at(n - 4)..])
    } else {
        ("", "")
    };
    let mut masked = String::with_capacity(head.len() + 3 + tail.len());
    masked.push_str(head);
    masked.push_str("***");
    masked.push_str(tail);
    masked
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
