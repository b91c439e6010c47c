//! The scan inside JSON strings: the tape spends most of its time here, because most of a
//! Meta body is ids, names and text. Sixteen bytes are compared at once with the vector
//! unit every 64-bit Arm and x86 CPU has (NEON, SSE2: part of both baselines, so no
//! runtime detection); elsewhere eight bytes at a time in plain integers (SWAR).

/// How many bytes at the start of `text` need no attention inside a string: no quote, no
/// backslash, no control character. The last few bytes of a text (fewer than sixteen)
/// are left to the caller, which reads them one by one.
#[inline(always)]
pub(super) fn plain_prefix(text: &[u8]) -> usize {
    let mut at = 0;
    while let Some(block) = text.get(at..at + 16) {
        let block: &[u8; 16] = block.try_into().expect("sixteen bytes");
        if let Some(first) = block::first_special(block) {
            return at + first;
        }
        at += 16;
    }
    at
}

#[cfg(target_arch = "x86_64")]
mod block {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    /// The index of the first quote, backslash or control character in `block`.
    #[inline(always)]
    pub fn first_special(block: &[u8; 16]) -> Option<usize> {
        // SAFETY: SSE2 is part of the x86_64 baseline, and the unaligned load reads exactly
        // the sixteen bytes `block` borrows.
        let mask = unsafe {
            let v = _mm_loadu_si128(block.as_ptr().cast());
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            // Unsigned: a byte is at most 0x1f exactly when max(byte, 0x1f) is 0x1f.
            let below = _mm_set1_epi8(0x1f);
            let control = _mm_cmpeq_epi8(_mm_max_epu8(v, below), below);
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
        };
        (mask != 0).then(|| mask.trailing_zeros() as usize)
    }
}

#[cfg(target_arch = "aarch64")]
mod block {
    use std::arch::aarch64::{
        vceqq_u8, vcltq_u8, vdupq_n_u8, vget_lane_u64, vld1q_u8, vorrq_u8, vreinterpret_u64_u8,
        vreinterpretq_u16_u8, vshrn_n_u16,
    };

    /// The index of the first quote, backslash or control character in `block`.
    #[inline(always)]
    pub fn first_special(block: &[u8; 16]) -> Option<usize> {
        // SAFETY: NEON is part of the aarch64 baseline, and the load reads exactly the
        // sixteen bytes `block` borrows.
        let mask = unsafe {
            let v = vld1q_u8(block.as_ptr());
            let quote = vceqq_u8(v, vdupq_n_u8(b'"'));
            let backslash = vceqq_u8(v, vdupq_n_u8(b'\\'));
            let control = vcltq_u8(v, vdupq_n_u8(0x20));
            let flagged = vorrq_u8(vorrq_u8(quote, backslash), control);
            // NEON has no byte mask: narrowing each 16-bit lane by four keeps four bits of
            // every byte, a 64-bit mask with four bits a byte.
            let nibbles = vshrn_n_u16::<4>(vreinterpretq_u16_u8(flagged));
            vget_lane_u64::<0>(vreinterpret_u64_u8(nibbles))
        };
        (mask != 0).then(|| mask.trailing_zeros() as usize / 4)
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod block {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

    /// Flags the special bytes of eight; the lowest flag is exact (false flags only sit
    /// above a true one).
    #[inline(always)]
    fn flags(word: &[u8]) -> u64 {
        let v = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let has_zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
        has_zero_byte(v ^ (ONES * b'"' as u64))
            | has_zero_byte(v ^ (ONES * b'\\' as u64))
            // Bytes below 0x20 (the high bit of the others is masked off by !v).
            | (v.wrapping_sub(ONES * 0x20) & !v & HIGHS)
    }

    /// The index of the first quote, backslash or control character in `block`.
    #[inline(always)]
    pub fn first_special(block: &[u8; 16]) -> Option<usize> {
        let (low, high) = (flags(&block[..8]), flags(&block[8..]));
        if low != 0 {
            Some((low.trailing_zeros() / 8) as usize)
        } else if high != 0 {
            Some(8 + (high.trailing_zeros() / 8) as usize)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn special(b: u8) -> bool {
        b == b'"' || b == b'\\' || b < 0x20
    }

    /// Every byte value at every position of a block, and the tail: the first special
    /// byte is found exactly, and nothing else (UTF-8's high bytes included) is flagged.
    #[test]
    fn finds_exactly_the_first_special_byte() {
        for len in [0, 5, 15, 16, 17, 31, 32, 40] {
            for at in 0..len {
                for value in 0..=255u8 {
                    let mut text = vec![b'a'; len];
                    // Plain bytes of every kind around it, high ones included.
                    for (i, b) in text.iter_mut().enumerate() {
                        *b = [b'a', 0x20, 0x7f, 0x80, 0xff, b'#', b']'][i % 7];
                    }
                    text[at] = value;
                    let found = plain_prefix(&text);
                    let scanned = len - len % 16;
                    let expected = if special(value) && at < scanned {
                        at
                    } else {
                        scanned
                    };
                    assert_eq!(found, expected, "len {len}, byte {value:#x} at {at}");
                }
            }
        }
    }

    #[test]
    fn stops_at_the_first_of_several() {
        let mut text = [b'x'; 48];
        text[40] = b'"';
        text[21] = b'\n';
        text[23] = b'\\';
        assert_eq!(plain_prefix(&text), 21);
        assert_eq!(plain_prefix(&text[22..]), 1);
        assert_eq!(plain_prefix(&text[24..]), 16);
    }
}
