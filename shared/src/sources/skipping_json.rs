//! A JSON reader for webhook bodies that reads only what the target type asks for, and skips
//! the rest of the document by its structure.
//!
//! Why: most of a Stripe event's bytes belong to fields Foresight never reads (tax settings,
//! payment settings, the plan's copy of the price...). serde_json tokenises each of them, which
//! cost about twice the HMAC that authenticates the body. This reader is a serde
//! [`Deserializer`]: the event types in `sources::stripe::event` are unchanged, and every value
//! they read is read as serde_json reads it (strings borrowed unless escaped, integers as `u64`
//! or `i64`, anything else as `f64`). An object or array they skip (`IgnoredAny`, unknown fields)
//! is passed over 64 bytes at a time, as simdjson's on-demand API does: a bitmask of the block's
//! quotes, backslashes and brackets, strings found by a prefix XOR of the unescaped quotes,
//! depth counted by popcounts, and bit by bit only in the block where the value closes.
//!
//! What is checked: everything the target reads is checked as serde_json checks it; inside a
//! skipped container only that strings close, brackets balance and the container closes with
//! its own kind of bracket (inner brackets of the other kind, or a backslash outside a string,
//! are not refused: a body reaches this reader after its sender's signature has been verified).
//! It assumes serde_json without its `arbitrary_precision` feature (a test checks). Any error sends the document to serde_json
//! instead ([`from_slice`]), so an answer of 400 carries serde_json's own message, and a
//! document this reader does not handle (an enum in an object, say) still parses.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

/// Parses `body` as a `T`: by this reader, or, if it fails, by serde_json (whose result, value
/// or error, is then the answer).
pub fn from_slice<'de, T: Deserialize<'de>>(body: &'de [u8]) -> Result<T, serde_json::Error> {
    match read(body) {
        Ok(value) => Ok(value),
        Err(Unread) => serde_json::from_slice(body),
    }
}

/// This reader alone: `Err` for anything it does not accept (the caller decides what then).
pub fn read<'de, T: Deserialize<'de>>(body: &'de [u8]) -> Result<T, Unread> {
    // The body's UTF-8 is checked once, so that a string is a slice of it between two ASCII
    // quotes (a body that is not UTF-8 is left to serde_json).
    let text = simdutf8::basic::from_utf8(body).map_err(|_| Unread)?;
    let mut reader = Reader { text, input: body, pos: 0, depth: 0 };
    let value = T::deserialize(&mut reader)?;
    // Only whitespace may follow the value.
    if reader.peek_byte().is_none() {
        Ok(value)
    } else {
        Err(Unread)
    }
}

/// The reader's only error: it does not say why, because [`from_slice`] asks serde_json for
/// the message (errors are the rare path; building messages here would slow the common one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unread;

impl fmt::Display for Unread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not read by the skipping reader")
    }
}

impl std::error::Error for Unread {}

impl de::Error for Unread {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unread
    }
}

/// serde_json's limit too (it reads at most 127 nested containers): deeper documents are
/// refused rather than overflowing the stack.
const MAX_DEPTH: u32 = 128;

struct Reader<'de> {
    /// The body, checked to be UTF-8.
    text: &'de str,
    /// The same bytes.
    input: &'de [u8],
    pos: usize,
    depth: u32,
}

impl<'de> Reader<'de> {
    /// The next byte that is not whitespace, if any (not consumed). Called before every token,
    /// so the layouts of a pretty-printed body are checked first: no whitespace (`:` after a
    /// key, `,` after a value), one space (after a colon); a newline and a run of indentation
    /// goes to [`Reader::skip_layout`].
    #[inline(always)]
    fn peek_byte(&mut self) -> Option<u8> {
        let next = *self.input.get(self.pos)?;
        if next > b' ' {
            return Some(next);
        }
        if next == b' ' {
            if let Some(&after) = self.input.get(self.pos + 1) {
                if after > b' ' {
                    self.pos += 1;
                    return Some(after);
                }
            }
        }
        self.skip_layout()
    }

    /// Whitespace: a newline and the next line's indentation, the layout of a pretty-printed
    /// body, first (its spaces sixteen at a time: a byte XOR a space is zero), then any other
    /// whitespace eight bytes at a time.
    #[inline(never)]
    fn skip_layout(&mut self) -> Option<u8> {
        let input = self.input;
        let mut pos = self.pos;
        if input.get(pos) == Some(&b'\n') {
            pos += 1;
        }
        // One pass of this loop for an indentation under sixteen spaces: no branch to mispredict
        // on its length.
        while let Some(bytes) = input.get(pos..pos + 16) {
            let spaces = (u128::from_le_bytes(bytes.try_into().unwrap()) ^ block::SPACES).trailing_zeros() as usize / 8;
            pos += spaces;
            if spaces < 16 {
                break;
            }
        }
        match input.get(pos) {
            Some(&next) if next > b' ' => {
                self.pos = pos;
                return Some(next);
            }
            _ => {}
        }
        while let Some(word) = input.get(pos..pos + 8) {
            let word = u64::from_le_bytes(word.try_into().unwrap());
            let run = (!block::whitespace(word) & block::HIGH).trailing_zeros() as usize / 8;
            pos += run;
            if run < 8 {
                self.pos = pos;
                return Some(input[pos]);
            }
        }
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = input.get(pos) {
            pos += 1;
        }
        self.pos = pos;
        input.get(pos).copied()
    }

    /// The next byte that is not whitespace (not consumed).
    #[inline(always)]
    fn peek(&mut self) -> Result<u8, Unread> {
        self.peek_byte().ok_or(Unread)
    }

    fn expect(&mut self, byte: u8) -> Result<(), Unread> {
        if self.peek()? == byte {
            self.pos += 1;
            Ok(())
        } else {
            Err(Unread)
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Unread> {
        if self.input[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Unread)
        }
    }

    /// A string whose opening quote has been consumed: borrowed from the body unless it has
    /// escapes.
    // Inlined: called for every key and string value (6% of a Stripe event's instructions).
    #[inline(always)]
    fn string(&mut self) -> Result<Cow<'de, str>, Unread> {
        let start = self.pos;
        let mut at = start;
        // Eight bytes at a time to the first quote, backslash or control character.
        let stop = loop {
            match self.input.get(at..at + 8) {
                Some(word) => {
                    let stops = block::string_stops(u64::from_le_bytes(word.try_into().unwrap()));
                    if stops != 0 {
                        break at + stops.trailing_zeros() as usize / 8;
                    }
                    at += 8;
                }
                None => match self.input[at..].iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20) {
                    Some(i) => break at + i,
                    None => return Err(Unread),
                },
            }
        };
        // Both ends are ASCII bytes, so the slice is whole characters.
        let text = self.text.get(start..stop).ok_or(Unread)?;
        match self.input[stop] {
            b'"' => {
                self.pos = stop + 1;
                Ok(Cow::Borrowed(text))
            }
            b'\\' => {
                self.pos = stop;
                self.escaped_string(text.as_bytes().to_vec()).map(Cow::Owned)
            }
            _ => Err(Unread),
        }
    }

    /// The rest of a string from its first backslash, after `read` (the bytes before it).
    fn escaped_string(&mut self, mut read: Vec<u8>) -> Result<String, Unread> {
        loop {
            let b = *self.input.get(self.pos).ok_or(Unread)?;
            self.pos += 1;
            match b {
                b'"' => return String::from_utf8(read).map_err(|_| Unread),
                b'\\' => {
                    let escape = *self.input.get(self.pos).ok_or(Unread)?;
                    self.pos += 1;
                    match escape {
                        b'"' | b'\\' | b'/' => read.push(escape),
                        b'b' => read.push(0x08),
                        b'f' => read.push(0x0c),
                        b'n' => read.push(b'\n'),
                        b'r' => read.push(b'\r'),
                        b't' => read.push(b'\t'),
                        b'u' => {
                            let unit = self.hex4()?;
                            let c = match unit {
                                0xd800..=0xdbff => {
                                    // A surrogate pair, or serde_json's error (a lone surrogate).
                                    self.literal(b"\\u")?;
                                    let low = self.hex4()?;
                                    if !(0xdc00..=0xdfff).contains(&low) {
                                        return Err(Unread);
                                    }
                                    0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
                                }
                                0xdc00..=0xdfff => return Err(Unread),
                                _ => unit,
                            };
                            let c = char::from_u32(c).ok_or(Unread)?;
                            read.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                        _ => return Err(Unread),
                    }
                }
                0..=0x1f => return Err(Unread),
                _ => read.push(b),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, Unread> {
        let digits = self.text.get(self.pos..self.pos + 4).ok_or(Unread)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Unread);
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| Unread)
    }

    /// A number, visited as serde_json visits it: `u64` when it is a non-negative integer that
    /// fits, `i64` when a negative one fits, else `f64` (and `-0` is `-0.0`, as serde_json has it).
    fn number<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Unread> {
        let start = self.pos;
        let negative = self.input[self.pos] == b'-';
        if negative {
            self.pos += 1;
        }
        let digits_start = self.pos;
        let mut value: u64 = 0;
        let mut overflow = false;
        while let Some(&d @ b'0'..=b'9') = self.input.get(self.pos) {
            match value.checked_mul(10).and_then(|v| v.checked_add(u64::from(d - b'0'))) {
                Some(v) => value = v,
                None => overflow = true,
            }
            self.pos += 1;
        }
        let digits = self.pos - digits_start;
        if digits == 0 || (digits > 1 && self.input[digits_start] == b'0') {
            return Err(Unread);
        }
        // Integers outside u64 (or, negative, outside i64) are floats to serde_json too.
        let mut float = overflow || (negative && value > i64::MAX as u64 + 1);
        if self.input.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            self.digits()?;
            float = true;
        }
        if let Some(b'e' | b'E') = self.input.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.input.get(self.pos) {
                self.pos += 1;
            }
            self.digits()?;
            float = true;
        }
        if float {
            // serde_json's own float parsing (not the standard library's, whose last bit can
            // differ from it for long mantissas): the same text gives the same `f64`.
            let text = self.text.get(start..self.pos).ok_or(Unread)?;
            let value: f64 = serde_json::from_str(text).map_err(|_| Unread)?;
            return visitor.visit_f64(value);
        }
        match (negative, value) {
            (false, value) => visitor.visit_u64(value),
            (true, 0) => visitor.visit_f64(-0.0),
            (true, value) => visitor.visit_i64((value as i64).wrapping_neg()),
        }
    }

    fn digits(&mut self) -> Result<(), Unread> {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.input.get(self.pos) {
            self.pos += 1;
        }
        if self.pos == start {
            Err(Unread)
        } else {
            Ok(())
        }
    }

    /// Passes over the value at the cursor.
    fn skip_value(&mut self) -> Result<(), Unread> {
        match self.peek()? {
            b'{' | b'[' => {
                self.pos = block::skip_container(self.input, self.pos).ok_or(Unread)?;
                Ok(())
            }
            _ => self.deserialize_any(IgnoredAny).map(|_| ()),
        }
    }

    /// The object or array whose bracket is at the cursor, read by `visit`, which also says
    /// whether it reached the closing bracket (a visitor that stopped early leaves the
    /// container open: serde_json's error too).
    fn nested<T>(&mut self, visit: impl FnOnce(&mut Self) -> Result<(T, bool), Unread>) -> Result<T, Unread> {
        self.pos += 1;
        self.depth += 1;
        if self.depth >= MAX_DEPTH {
            return Err(Unread);
        }
        let (value, closed) = visit(self)?;
        if !closed {
            return Err(Unread);
        }
        self.depth -= 1;
        Ok(value)
    }
}

impl<'de> Deserializer<'de> for &mut Reader<'de> {
    type Error = Unread;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unread> {
        match self.peek()? {
            b'{' => self.nested(|reader| {
                let mut fields = Members { reader, first: true, closed: false };
                Ok((visitor.visit_map(&mut fields)?, fields.closed))
            }),
            b'[' => self.nested(|reader| {
                let mut elements = Members { reader, first: true, closed: false };
                Ok((visitor.visit_seq(&mut elements)?, elements.closed))
            }),
            b'"' => {
                self.pos += 1;
                match self.string()? {
                    Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
                    Cow::Owned(s) => visitor.visit_string(s),
                }
            }
            b't' => {
                self.literal(b"true")?;
                visitor.visit_bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                visitor.visit_bool(false)
            }
            b'n' => {
                self.literal(b"null")?;
                visitor.visit_unit()
            }
            b'-' | b'0'..=b'9' => self.number(visitor),
            _ => Err(Unread),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unread> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unread> {
        self.skip_value()?;
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, Unread> {
        visitor.visit_newtype_struct(self)
    }

    /// Unit variants named by a string; anything else is left to serde_json.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unread> {
        if self.peek()? != b'"' {
            return Err(Unread);
        }
        self.pos += 1;
        match self.string()? {
            Cow::Borrowed(s) => visitor.visit_enum(de::value::BorrowedStrDeserializer::new(s)),
            Cow::Owned(s) => visitor.visit_enum(de::value::StringDeserializer::new(s)),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// The members of an object, or the elements of an array, whose opening bracket has been
/// consumed: read as a map or as a sequence.
struct Members<'r, 'de> {
    reader: &'r mut Reader<'de>,
    first: bool,
    closed: bool,
}

impl<'de> MapAccess<'de> for Members<'_, 'de> {
    type Error = Unread;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Unread> {
        let mut next = self.reader.peek()?;
        if next == b'}' && !self.closed {
            // `{}` or the end after a member; `{"a": 1,}` reaches here as a `,` first.
            self.reader.pos += 1;
            self.closed = true;
            return Ok(None);
        }
        if self.closed {
            return Err(Unread);
        }
        if !self.first {
            if next != b',' {
                return Err(Unread);
            }
            self.reader.pos += 1;
            next = self.reader.peek()?;
        }
        self.first = false;
        if next != b'"' {
            return Err(Unread);
        }
        self.reader.pos += 1;
        match self.reader.string()? {
            Cow::Borrowed(key) => seed.deserialize(de::value::BorrowedStrDeserializer::new(key)),
            Cow::Owned(key) => seed.deserialize(de::value::StringDeserializer::new(key)),
        }
        .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Unread> {
        self.reader.expect(b':')?;
        seed.deserialize(&mut *self.reader)
    }
}

impl<'de> SeqAccess<'de> for Members<'_, 'de> {
    type Error = Unread;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Unread> {
        if self.closed {
            return Err(Unread);
        }
        if self.reader.peek()? == b']' {
            self.reader.pos += 1;
            self.closed = true;
            return Ok(None);
        }
        if !self.first {
            self.reader.expect(b',')?;
        }
        self.first = false;
        seed.deserialize(&mut *self.reader).map(Some)
    }
}

/// Skipping a container 64 bytes at a time.
pub(crate) mod block {
    pub(crate) const HIGH: u64 = 0x8080_8080_8080_8080;
    /// Sixteen spaces, little-endian.
    pub(crate) const SPACES: u128 = 0x2020_2020_2020_2020_2020_2020_2020_2020;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const ONES: u64 = 0x0101_0101_0101_0101;

    /// The high bit of each byte of `word` that equals `byte`: exact, without the false
    /// positives of the shorter zero-byte test.
    #[inline(always)]
    fn equal_bytes_high(word: u64, byte: u8) -> u64 {
        let x = word ^ (ONES * u64::from(byte));
        !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
    }

    /// One bit per byte of `word` (little-endian order) that equals `byte`.
    // Used by the portable classifier: on x86_64 by its tests only.
    #[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2", not(test)), allow(dead_code))]
    #[inline(always)]
    fn equal_bytes(word: u64, byte: u8) -> u64 {
        // Gathers the eight high bits into the top byte: bit 8i+7 moves to bit 56+i.
        equal_bytes_high(word, byte).wrapping_mul(0x0002_0408_1020_4081) >> 56
    }

    /// The high bit of each byte of `word` that is JSON whitespace (space, newline, carriage
    /// return, tab).
    #[inline(always)]
    pub(crate) fn whitespace(word: u64) -> u64 {
        equal_bytes_high(word, b' ')
            | equal_bytes_high(word, b'\n')
            | equal_bytes_high(word, b'\r')
            | equal_bytes_high(word, b'\t')
    }

    /// The high bit of each byte of `word` (little-endian order) that ends a run of plain
    /// string bytes: a quote, a backslash or a control character.
    #[inline(always)]
    pub(crate) fn string_stops(word: u64) -> u64 {
        let control = !(((word & LOW7).wrapping_add(ONES * 0x60)) | word | LOW7);
        equal_bytes_high(word, b'"') | equal_bytes_high(word, b'\\') | control
    }

    /// The block's quotes, backslashes, opening and closing brackets, one bit per byte: by
    /// SSE2 on x86_64 (part of its baseline), by 64-bit arithmetic elsewhere (aarch64, whose
    /// NEON has no single-instruction equivalent of SSE2's byte mask).
    #[inline(always)]
    pub(crate) fn classify(block: &[u8; 64]) -> [u64; 4] {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        // SAFETY: the only requirement of a `target_feature` function is that the CPU has the
        // feature; SSE2 is enabled at compile time (checked by the `cfg`), as it is on every
        // x86_64 target.
        return unsafe { classify_sse2(block) };
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
        return classify_portable(block);
    }

    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    #[target_feature(enable = "sse2")]
    pub(crate) fn classify_sse2(block: &[u8; 64]) -> [u64; 4] {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_set_epi64x,
        };
        let bits = |x: __m128i, byte: u8| _mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(byte as i8))) as u16 as u64;
        let mut masks = [0u64; 4];
        for (i, chunk) in block.chunks_exact(16).enumerate() {
            let low = i64::from_le_bytes(chunk[..8].try_into().unwrap());
            let high = i64::from_le_bytes(chunk[8..].try_into().unwrap());
            let bytes = _mm_set_epi64x(high, low);
            let folded = _mm_or_si128(bytes, _mm_set1_epi8(0x20));
            let shift = 16 * i;
            masks[0] |= bits(bytes, b'"') << shift;
            masks[1] |= bits(bytes, b'\\') << shift;
            masks[2] |= bits(folded, b'{') << shift;
            masks[3] |= bits(folded, b'}') << shift;
        }
        masks
    }

    #[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2", not(test)), allow(dead_code))]
    #[inline(always)]
    pub(crate) fn classify_portable(block: &[u8; 64]) -> [u64; 4] {
        let mut masks = [0u64; 4];
        for (i, word) in block.chunks_exact(8).enumerate() {
            let word = u64::from_le_bytes(word.try_into().unwrap());
            // `[` and `{` differ only in 0x20, as do `]` and `}`; no other byte maps onto them.
            let folded = word | (ONES * 0x20);
            let shift = 8 * i;
            masks[0] |= equal_bytes(word, b'"') << shift;
            masks[1] |= equal_bytes(word, b'\\') << shift;
            masks[2] |= equal_bytes(folded, b'{') << shift;
            masks[3] |= equal_bytes(folded, b'}') << shift;
        }
        masks
    }

    /// Bit i is the XOR of bits 0..=i: inside a string from its opening quote up to, not
    /// including, its closing one.
    #[inline(always)]
    fn prefix_xor(mut x: u64) -> u64 {
        x ^= x << 1;
        x ^= x << 2;
        x ^= x << 4;
        x ^= x << 8;
        x ^= x << 16;
        x ^= x << 32;
        x
    }

    /// The bytes a backslash escapes, given the block's backslashes and whether the previous
    /// block ended with an escaping one (updated for the next). Backslashes are rare in
    /// webhook bodies, so they are walked one by one.
    #[inline(always)]
    fn escaped(backslashes: u64, carry: &mut bool) -> u64 {
        let mut escaped = u64::from(*carry);
        *carry = false;
        let mut escaping = backslashes & !escaped;
        while escaping != 0 {
            let i = escaping.trailing_zeros();
            if i == 63 {
                *carry = true;
            } else {
                escaped |= 1 << (i + 1);
            }
            escaping &= !(1u64 << i);
            escaping &= !escaped;
        }
        escaped
    }

    /// The position just after the object or array that starts at `start` (a `{` or `[`), or
    /// `None` if the input ends first.
    pub(crate) fn skip_container(input: &[u8], start: usize) -> Option<usize> {
        skip_container_by(input, start, classify)
    }

    /// [`skip_container`] with a given classifier (the tests run the portable one on x86_64).
    #[inline(always)]
    pub(crate) fn skip_container_by(
        input: &[u8],
        start: usize,
        classify: impl Fn(&[u8; 64]) -> [u64; 4],
    ) -> Option<usize> {
        let mut depth: u64 = 0;
        let mut in_string: u64 = 0;
        let mut escape_carry = false;
        let mut at = start;
        let mut padded = [b' '; 64];
        while at < input.len() {
            let block: &[u8; 64] = match input.get(at..at + 64) {
                Some(block) => block.try_into().unwrap(),
                None => {
                    // The last partial block, padded with spaces (which are none of the bytes
                    // looked for), so that it takes the same path as the others.
                    // (Only the last block comes here, so `padded` is still all spaces.)
                    let rest = &input[at..];
                    padded[..rest.len()].copy_from_slice(rest);
                    &padded
                }
            };
            let [quotes, backslashes, opens, closes] = classify(block);
            let escaped = if backslashes != 0 || escape_carry { escaped(backslashes, &mut escape_carry) } else { 0 };
            let strings = prefix_xor(quotes & !escaped) ^ in_string;
            in_string = ((strings as i64) >> 63) as u64;
            let opens = opens & !strings;
            let closes = closes & !strings;
            let close_count = u64::from(closes.count_ones());
            if depth > close_count {
                depth = depth + u64::from(opens.count_ones()) - close_count;
            } else {
                // The container may close here: follow the brackets in order.
                let mut brackets = opens | closes;
                while brackets != 0 {
                    let i = brackets.trailing_zeros();
                    let bit = 1u64 << i;
                    if opens & bit != 0 {
                        depth += 1;
                    } else {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            // `[` + 2 is `]`, `{` + 2 is `}`: a container closed by the other
                            // kind is not skipped (the fields after it would be misread).
                            let end = at + i as usize + 1;
                            let closes_its_kind = input.get(end - 1) == Some(&(input[start] + 2));
                            return closes_its_kind.then_some(end);
                        }
                    }
                    brackets &= !bit;
                }
            }
            at += 64;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    /// What serde_json makes of a document, and what this reader makes of it, as a Value
    /// (which this reader builds through `deserialize_any`).
    fn both(doc: &str) -> (Result<Value, String>, Result<Value, Unread>) {
        (serde_json::from_str(doc).map_err(|e| e.to_string()), read(doc.as_bytes()))
    }

    #[test]
    fn reads_every_kind_of_value_as_serde_json_does() {
        for doc in [
            r#"{"a": 1, "b": -2, "c": 1.5, "d": 1e3, "e": -0, "f": 18446744073709551615, "g": 18446744073709551616}"#,
            r#"{"i": -9223372036854775808, "j": -9223372036854775809, "k": 0.000001, "l": 2E-2}"#,
            // A long mantissa, where serde_json's float parsing and the standard library's
            // differ in the last bit (found by the property test below).
            r#"{"m": -1.0330262611908577e+67}"#,
            r#"[true, false, null, "x", "", [], {}, [[1], {"a": [2]}]]"#,
            r#"{"escaped": "a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00 end", "plain": "héllo"}"#,
            "  \n\t {\"spaced\"  :\n  [ 1 ,2 ]  }  \n",
            "{\"crlf\":\r\n\t\t1,\r\n        \"long indent\":           [\n\n]\n}",
        ] {
            let (expected, ours) = both(doc);
            assert_eq!(ours.ok(), expected.ok(), "{doc}");
        }
    }

    #[test]
    fn refuses_what_serde_json_refuses() {
        for doc in [
            "",
            "{",
            r#"{"a": 1,}"#,
            r#"{"a" 1}"#,
            r#"[1,]"#,
            r#"[1 2]"#,
            "01",
            "1.",
            "1e",
            "-",
            "tru",
            "nul",
            r#""unterminated"#,
            "\"control \u{1} char\"",
            r#""\x""#,
            r#""\ud800""#,
            r#""\ud800\u0041""#,
            r#""\udc00""#,
            r#"{"a": 1} trailing"#,
            r#"{"a": 1}}"#,
            "1e999",
            "{\"a\":\u{c}1}",
            "{\"a\":\n        \u{b}1}",
            "[1]\u{0}",
        ] {
            let (expected, ours) = both(doc);
            assert!(expected.is_err(), "serde_json accepts {doc:?}");
            assert_eq!(ours, Err(Unread), "{doc:?}");
        }
    }

    /// Every layout of whitespace between tokens reads as serde_json reads it: indentation
    /// shorter and longer than the sixteen spaces looked at together, newlines, carriage
    /// returns and tabs before, among and after the spaces, and runs that reach the end of the
    /// document.
    #[test]
    fn reads_every_layout_of_whitespace() {
        for spaces in 0..40 {
            let indent = " ".repeat(spaces);
            for layout in [
                format!("\n{indent}"),
                format!("\r\n{indent}"),
                format!("\n{indent}\t"),
                format!("\n\n{indent}"),
                format!("{indent}\n"),
                format!("\n{indent}\r "),
                format!("\t{indent}"),
                indent.clone(),
            ] {
                let w = &layout;
                let doc =
                    format!("{w}{{{w}\"a\"{w}:{w}[{w}1{w},{w}{{{w}}}{w},{w}\"x\"{w}]{w},{w}\"b\":{w}null{w}}}{w}");
                let (expected, ours) = both(&doc);
                assert_eq!(ours.ok(), expected.ok(), "{doc:?}");
                for stray in ["\u{b}", "\u{c}", "\u{0}"] {
                    let refused = format!("{{\"a\":{w}{stray}1}}");
                    let (expected, ours) = both(&refused);
                    assert!(expected.is_err(), "serde_json accepts {refused:?}");
                    assert_eq!(ours, Err(Unread), "{refused:?}");
                }
            }
        }
    }

    fn json_values() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            any::<String>().prop_map(Value::from),
            "[ \"\\\\{}\\[\\]a-z]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(6, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
                proptest::collection::btree_map("[a-z\"\\\\ ]{0,6}", inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Any document serde_json writes, compact or pretty, reads back as serde_json reads
        /// it, and a field after a skipped copy of it is found.
        #[test]
        fn reads_any_document_as_serde_json_does(value in json_values()) {
            #[derive(Deserialize, Debug, PartialEq)]
            struct Last {
                last: Value,
            }
            for text in [serde_json::to_string(&value).unwrap(), serde_json::to_string_pretty(&value).unwrap()] {
                let expected: Value = serde_json::from_str(&text).unwrap();
                proptest::prop_assert_eq!(read::<Value>(text.as_bytes()), Ok(expected.clone()));
                let wrapped = format!("{{\"skipped\": {text}, \"last\": {text}}}");
                proptest::prop_assert_eq!(read::<Last>(wrapped.as_bytes()), Ok(Last { last: expected }));
            }
        }
    }

    #[test]
    fn refuses_documents_deeper_than_serde_json_reads() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(serde_json::from_str::<Value>(&nested(127)).is_ok());
        assert!(read::<Value>(nested(127).as_bytes()).is_ok());
        assert!(serde_json::from_str::<Value>(&nested(128)).is_err());
        assert_eq!(read::<Value>(nested(128).as_bytes()), Err(Unread));
        let deep = nested(200);
        assert_eq!(read::<Value>(deep.as_bytes()), Err(Unread));
        assert!(serde_json::from_str::<Value>(&deep).is_err());
        // Skipped, the same depth is only structure: passed over.
        let skipped = format!("{{\"a\": {}, \"b\": 1}}", deep);
        #[derive(Deserialize, Debug, PartialEq)]
        struct OnlyB {
            b: u32,
        }
        assert_eq!(read::<OnlyB>(skipped.as_bytes()), Ok(OnlyB { b: 1 }));
    }

    /// A skipped container ends at its matching bracket whatever its strings hold, wherever
    /// the 64-byte blocks fall.
    #[test]
    fn a_skipped_container_ends_at_its_matching_bracket() {
        let tricky = [
            r#"{"a": "}", "b": "]", "c": "{[", "d": "\"}", "e": "\\", "f": "\\\"}\\"}"#,
            r#"[{"x": [1, 2, {"y": "z\\\\\"]"}]}, "\u005d", []]"#,
            r#"{}"#,
            r#"[]"#,
        ];
        for inner in tricky {
            for pad in 0..140 {
                let doc = format!("{{\"skip\": {}{inner}, \"keep\": 7}}", " ".repeat(pad));
                #[derive(Deserialize, Debug, PartialEq)]
                struct Keep {
                    keep: u32,
                }
                assert_eq!(read::<Keep>(doc.as_bytes()), Ok(Keep { keep: 7 }), "{doc}");
                let start = doc.find(inner).unwrap();
                assert_eq!(block::skip_container(doc.as_bytes(), start), Some(start + inner.len()), "{doc}");
                let portable = block::skip_container_by(doc.as_bytes(), start, block::classify_portable);
                assert_eq!(portable, Some(start + inner.len()), "{doc}");
            }
        }
    }

    #[test]
    fn an_unclosed_container_is_not_skipped() {
        for doc in [r#"{"a": "}"#, r#"{"a": [1, 2}"#, "[[[", r#"{"a": "\"}"#, "[}", r#"{"a": 1]"#] {
            assert_eq!(block::skip_container(doc.as_bytes(), 0), None, "{doc}");
        }
    }

    #[test]
    fn classify_finds_each_byte_it_looks_for_and_nothing_else() {
        let mut block = [0u8; 64];
        for byte in 0..=255u8 {
            for position in [0, 7, 8, 33, 63] {
                block.fill(b'a');
                block[position] = byte;
                let [quotes, backslashes, opens, closes] = block::classify_portable(&block);
                assert_eq!(block::classify(&block), [quotes, backslashes, opens, closes]);
                let bit = 1u64 << position;
                assert_eq!(quotes, if byte == b'"' { bit } else { 0 }, "{byte:#x} at {position}");
                assert_eq!(backslashes, if byte == b'\\' { bit } else { 0 }, "{byte:#x} at {position}");
                assert_eq!(opens, if matches!(byte, b'{' | b'[') { bit } else { 0 }, "{byte:#x} at {position}");
                assert_eq!(closes, if matches!(byte, b'}' | b']') { bit } else { 0 }, "{byte:#x} at {position}");
            }
        }
    }

    /// With `arbitrary_precision`, serde_json hands numbers to visitors in another form; this
    /// reader would then differ from it.
    #[test]
    fn serde_json_reads_numbers_as_this_reader_does() {
        let number: Value = serde_json::from_str("1.50").unwrap();
        assert_eq!(number.to_string(), "1.5", "serde_json's arbitrary_precision feature is on");
    }

    /// A container closed by the wrong kind of bracket is not skipped, so the fields after it
    /// are not read as if it had been.
    #[test]
    fn a_wrong_closing_bracket_is_not_passed_over() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Customer<'a> {
            customer: &'a str,
        }
        let doc = br#"{"x": [}, "customer": "cus_1"}"#;
        assert_eq!(read::<Customer>(doc), Err(Unread));
        assert!(from_slice::<Customer>(doc).is_err());
    }

    #[test]
    fn an_error_is_serde_json_s_message() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Event {
            created: i64,
        }
        let message = from_slice::<Event>(br#"{"created": "yesterday"}"#).unwrap_err().to_string();
        assert_eq!(message, "invalid type: string \"yesterday\", expected i64 at line 1 column 23");
    }
}
