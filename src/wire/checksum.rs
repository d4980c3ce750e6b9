//! The Internet checksum (RFC 1071), with the pieces needed to update it incrementally.

/// Adds `data` as big-endian 16-bit words to a running one's-complement sum (odd tail padded
/// with a zero byte).
pub fn accumulate(mut sum: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

/// Folds a running sum to 16 bits (without complementing).
pub fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The checksum field value for `data`: the complement of the folded sum.
pub fn checksum(data: &[u8]) -> u16 {
    !fold(accumulate(0, data))
}

/// Adds a 64-bit value as four 16-bit words.
pub fn accumulate_u64(sum: u64, v: u64) -> u64 {
    sum + (v >> 48) + ((v >> 32) & 0xffff) + ((v >> 16) & 0xffff) + (v & 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rfc1071_example() {
        // RFC 1071 section 3: words 0001 f203 f4f5 f6f7 sum to ddf2 (before complement).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(accumulate(0, &data)), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn a_u64_adds_like_its_bytes() {
        let v = 0x0123_4567_89ab_cdefu64;
        assert_eq!(
            fold(accumulate_u64(7, v)),
            fold(accumulate(7, &v.to_be_bytes()))
        );
    }

    #[test]
    fn odd_lengths_pad_with_zero() {
        assert_eq!(fold(accumulate(0, &[0xab])), 0xab00);
    }
}
