//! Masking of card numbers and secrets in everything the sandbox keeps or shows: the request
//! journal, state dumps and logs. A full card number (PAN) is never kept: any run of 13 to 19
//! digits becomes its first six and last four digits around asterisks, as providers print
//! them; secrets keep a short recognisable prefix and suffix.

use serde_json::Value;
use std::borrow::Cow;

/// Body fields whose whole value is secret.
const SECRET_FIELDS: &[&str] = &[
    "security_code",
    "cvv",
    "cvc",
    "card_cvv",
    "client_secret",
    "access_token",
    "password",
    "authorization_reference_number",
];

/// Headers whose values are secret.
pub const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "x-client-secret",
    "x-sandbox-admin-token",
    "cookie",
];

/// Whether a run of 13+ digits may be a card number. Every 13-digit card number passes the
/// Luhn check; 13-digit ids (Mercado Pago's card ids, which paysandbox issues failing it)
/// are not card numbers, and masking them would break the ids in journal paths and state
/// dumps. Longer runs count whatever their check digit.
fn may_be_card_number(run: &[u8]) -> bool {
    run.len() != 13 || std::str::from_utf8(run).is_ok_and(crate::card::luhn)
}

/// The runs of 13+ digits in `bytes` that may be card numbers, in order.
fn long_digit_runs(bytes: &[u8]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            if !bytes[i].is_ascii_digit() {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i - start >= 13 && may_be_card_number(&bytes[start..i]) {
                return Some(start..i);
            }
        }
        None
    })
}

/// Whether a text holds a run of 13+ digits (a possible card number). Every string the
/// journal keeps passes through here, so it looks at one byte in 13: any run of 13 digits
/// covers one of the bytes it looks at, and only a digit there is worth a closer look.
#[inline]
pub fn has_long_digit_run(bytes: &[u8]) -> bool {
    let mut probe = 12;
    while let Some(b) = bytes.get(probe) {
        if !b.is_ascii_digit() {
            probe += 13;
            continue;
        }
        // Bytes before the last probe were ruled out with it, but not those after it: look
        // back at most 12 bytes.
        let mut start = probe;
        while start + 12 > probe && start > 0 && bytes[start - 1].is_ascii_digit() {
            start -= 1;
        }
        let mut end = probe + 1;
        while end < bytes.len() && end - start < 14 && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end - start >= 14 {
            return true;
        }
        if end - start == 13 {
            // The whole run if it ends here; else it goes on past 13 digits (a card number).
            let whole = end == bytes.len() || !bytes[end].is_ascii_digit();
            if !whole || may_be_card_number(&bytes[start..end]) {
                return true;
            }
        }
        // `bytes[end]` is not a digit: a run after it starts past it, and its thirteen
        // bytes cover `end + 13`.
        probe = end + 13;
    }
    false
}

/// Card numbers typed in groups, wherever they sit in a text: three or more groups of 3–6
/// digits, the first of four, 13–19 digits that pass the Luhn check (`4509 9535 6623 3704`,
/// Amex's `3782 822463 10005`), split by the same one to three of space, tab, dash, dot,
/// underscore, slash or no-break space throughout, a run of blanks counting as one (copied
/// text brings double spaces, tabs, ` - `). Any stretch of whole groups in a longer chain
/// counts, so a card number after a phone number in one note is found too. Phone numbers
/// alone (`+55 11 98765 4321`) do not start with a group of four or fail the check.
fn grouped_cards(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut found = Vec::new();
    let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // One chain: digit groups joined by separators.
        groups.clear();
        let mut end = i;
        loop {
            let start = end;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            groups.push(start..end);
            let gap = separator_len(bytes, end);
            if gap == 0 || !bytes.get(end + gap).is_some_and(u8::is_ascii_digit) {
                break;
            }
            end += gap;
        }
        i = end;
        // Every stretch that reads as a card number, from every group; overlapping ones are
        // masked together, so a stretch that happens to pass from an earlier group (`…4306
        // 4509 9535 6623 3704`) cannot leave the digits of the real one in the clear.
        let mut merged: Option<(usize, usize)> = None;
        for first in 0..groups.len() {
            let Some(taken) = card_in_groups(bytes, &groups[first..]) else {
                continue;
            };
            let last = first + taken - 1;
            match &mut merged {
                Some((_, end)) if first <= *end => *end = (*end).max(last),
                _ => {
                    if let Some((a, b)) = merged {
                        found.push(groups[a].start..groups[b].end);
                    }
                    merged = Some((first, last));
                }
            }
        }
        if let Some((a, b)) = merged {
            found.push(groups[a].start..groups[b].end);
        }
    }
    found
}

/// How many of `groups`, from the first, make the longest card number there (see
/// [`grouped_cards`]); `None` if no run of them does.
fn card_in_groups(bytes: &[u8], groups: &[std::ops::Range<usize>]) -> Option<usize> {
    if groups.first()?.len() != 4 {
        return None;
    }
    let mut digits = [0u8; 19];
    let mut count = 0;
    let mut longest = None;
    // One card is typed with one separator throughout: `98765-4321 / 91234-5671` is two
    // phone numbers, not a card. Blank runs count as one, since copied text mixes spaces,
    // double spaces and no-break spaces in one number.
    let gap = |k: usize| {
        groups
            .get(k + 1)
            .map(|next| gap_shape(&bytes[groups[k].end..next.start]))
    };
    let first_gap = gap(0);
    for (taken, group) in groups.iter().enumerate() {
        if !(3..=6).contains(&group.len())
            || count + group.len() > 19
            || (taken >= 2 && gap(taken - 1) != first_gap)
        {
            break;
        }
        digits[count..count + group.len()].copy_from_slice(&bytes[group.clone()]);
        count += group.len();
        if taken >= 2
            && count >= 13
            && std::str::from_utf8(&digits[..count]).is_ok_and(crate::card::luhn)
        {
            longest = Some(taken + 1);
        }
    }
    longest
}

/// A separator with every blank run (spaces, tabs, no-break spaces) written as one space: the
/// shape two gaps of one card share. At most three characters, so it fits a small array.
fn gap_shape(gap: &[u8]) -> ([u8; 6], usize) {
    let mut shape = [0u8; 6];
    let mut len = 0;
    let mut k = 0;
    while let Some((size, blank)) = separator_at(gap, k) {
        if len == shape.len() {
            break;
        }
        let written = if blank { b' ' } else { gap[k] };
        if !(blank && len > 0 && shape[len - 1] == b' ') {
            shape[len] = written;
            len += 1;
        }
        k += size;
    }
    (shape, len)
}

/// The separator character at `at` between two groups of a card number: its length in bytes
/// and whether it is blank (space, tab, no-break space) rather than a dash, dot, underscore
/// or slash.
fn separator_at(bytes: &[u8], at: usize) -> Option<(usize, bool)> {
    match bytes.get(at)? {
        b' ' | b'\t' => Some((1, true)),
        b'-' | b'.' | b'_' | b'/' => Some((1, false)),
        0xC2 if bytes.get(at + 1) == Some(&0xA0) => Some((2, true)),
        _ => None,
    }
}

/// The length in bytes of the separator at `at` between two groups of a card number: one to
/// three separator characters (`4111 - 1111 - …`); 0 when there is none.
fn separator_len(bytes: &[u8], at: usize) -> usize {
    let mut len = 0;
    for _ in 0..3 {
        match separator_at(bytes, at + len) {
            Some((size, _)) => len += size,
            None => break,
        }
    }
    len
}

/// A byte of a separator [`separator_at`] reads (0xA0 ends a UTF-8 no-break space), for the
/// byte-wise count in [`may_hold_grouped_card`].
fn is_separator(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'-' | b'.' | b'_' | b'/' | 0xA0)
}

/// Whether a text may hold a grouped card number: a cheap test before [`grouped_cards`].
/// Every string the journal keeps passes through here.
fn may_hold_grouped_card(bytes: &[u8]) -> bool {
    if bytes.len() < 15 {
        return false;
    }
    // A count of one byte class vectorises; separators are looked for only in the rare
    // text with 13 digits.
    bytes.iter().filter(|b| b.is_ascii_digit()).count() >= 13
        && bytes.iter().filter(|&&b| is_separator(b)).count() >= 2
}

/// Calls `f` with each stretch of a text to mask, in order: runs of 13+ digits and grouped
/// card numbers. Without a possible grouped number (nearly always) they are the digit runs
/// alone, found without collecting them.
fn for_each_card_like_span(bytes: &[u8], f: impl FnMut(std::ops::Range<usize>)) {
    if !may_hold_grouped_card(bytes) {
        return long_digit_runs(bytes).for_each(f);
    }
    let mut spans: Vec<_> = long_digit_runs(bytes).collect();
    spans.extend(grouped_cards(bytes));
    spans.sort_by_key(|r| r.start);
    spans.into_iter().for_each(f);
}

/// Writes a stretch [`for_each_card_like_span`] found, masked: its digits as
/// [`write_masked_run`] writes them (a grouped number loses its separators).
fn write_masked_span(span: &[u8], out: &mut Vec<u8>) {
    if span.iter().all(u8::is_ascii_digit) {
        write_masked_run(span, out);
    } else {
        let digits: Vec<u8> = span.iter().copied().filter(u8::is_ascii_digit).collect();
        write_masked_run(&digits, out);
    }
}

/// Masks every run of 13–19 digits in a text: `4509953566233704` → `450995******3704`, and
/// card numbers typed in groups the same way. Longer runs (not card numbers) are masked
/// whole.
pub fn mask_text(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    if !has_long_digit_run(bytes) && !may_hold_grouped_card(bytes) {
        return Cow::Borrowed(text);
    }
    let mut out = Vec::new();
    let mut copied = 0;
    for_each_card_like_span(bytes, |run| {
        out.reserve(text.len());
        out.extend_from_slice(&bytes[copied..run.start]);
        write_masked_span(&bytes[run.clone()], &mut out);
        copied = run.end;
    });
    if out.is_empty() {
        // Nothing found after all (a grouped look-alike failing its check).
        return Cow::Borrowed(text);
    }
    out.extend_from_slice(&bytes[copied..]);
    // Only ASCII digits were replaced, by ASCII: the text is still UTF-8.
    Cow::Owned(
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    )
}

/// Writes a run of 13+ digits as it may be kept: 13–19 digits keep their first six and last
/// four around asterisks, longer runs (not card numbers) become all asterisks.
fn write_masked_run(run: &[u8], out: &mut Vec<u8>) {
    match run.len() {
        n @ 13..=19 => {
            out.extend_from_slice(&run[..6]);
            out.resize(out.len() + n - 10, b'*');
            out.extend_from_slice(&run[n - 4..]);
        }
        n => out.resize(out.len() + n, b'*'),
    }
}

/// Masks card numbers and secret fields anywhere in a JSON value.
pub fn mask_json(value: &mut Value) {
    mask_value(value, true);
}

/// [`mask_json`] for a provider's state export, whose numbers are timestamps, versions and
/// counts (epoch milliseconds are thirteen digits): no provider keeps a card number as a JSON
/// number, so numbers stay as they are and the dump can seed a tenant back.
pub fn mask_export(value: &mut Value) {
    mask_value(value, false);
}

fn mask_value(value: &mut Value, numbers: bool) {
    match value {
        Value::String(s) => {
            if let Cow::Owned(masked) = mask_text(s) {
                *s = masked;
            }
        }
        Value::Number(n) if numbers => {
            let text = n.to_string();
            if let Cow::Owned(masked) = mask_text(&text) {
                *value = Value::String(masked);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| mask_value(item, numbers)),
        Value::Object(map) => {
            // A key that is itself a card number (a map keyed by PAN) is masked too.
            if map.keys().any(|k| has_long_digit_run(k.as_bytes())) {
                let entries = std::mem::take(map);
                *map = entries
                    .into_iter()
                    .map(|(k, v)| (mask_text(&k).into_owned(), v))
                    .collect();
            }
            for (k, v) in map.iter_mut() {
                // A secret is a text or a number; an object under a secret's name describes
                // it (Mercado Pago's card `security_code: {length, card_location}`).
                if is_secret_field(k.as_bytes()) && !(v.is_null() || v.is_object() || v.is_array())
                {
                    *v = Value::String("***".into());
                } else if let Some(masked) = v
                    .as_str()
                    .filter(|_| is_card_field(k.as_bytes()))
                    .and_then(|text| masked_grouped_card(text.as_bytes()))
                {
                    *v = Value::String(String::from_utf8_lossy(&masked).into_owned());
                } else {
                    mask_value(v, numbers);
                }
            }
        }
        _ => {}
    }
}

fn is_secret_field(key: &[u8]) -> bool {
    SECRET_FIELDS
        .iter()
        .any(|f| f.as_bytes().eq_ignore_ascii_case(key))
}

/// Body fields that hold a card number, which people also type in groups (`4509 9535 6623
/// 3704`, `4509-9535-…`): no digit run is long enough there, so these are read whole.
const CARD_FIELDS: &[&str] = &["card_number", "cardnumber", "pan"];

fn is_card_field(key: &[u8]) -> bool {
    // Every key of every journaled body comes here: most are ruled out by their length.
    matches!(key.len(), 3 | 10 | 11)
        && CARD_FIELDS
            .iter()
            .any(|f| f.as_bytes().eq_ignore_ascii_case(key))
}

/// A card number written in groups, masked as its digits would be (`450995******3704`);
/// `None` for anything else (plain digit runs are masked wherever they are anyway).
fn masked_grouped_card(text: &[u8]) -> Option<Vec<u8>> {
    memchr::memchr2(b' ', b'-', text)?;
    if !text
        .iter()
        .all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'-'))
    {
        return None;
    }
    let digits: Vec<u8> = text.iter().copied().filter(u8::is_ascii_digit).collect();
    if !(13..=19).contains(&digits.len()) {
        return None;
    }
    let mut out = Vec::with_capacity(digits.len());
    write_masked_run(&digits, &mut out);
    Some(out)
}

/// Masks a raw body as [`mask_body`] does, without building a JSON tree: every run of 13+
/// digits (in strings, numbers or anything else) and the value of every secret field. The
/// journal masks every request and answer it keeps, so this is on the hot path.
///
/// Borrowed when nothing needed masking. Bodies with escapes (`\`), where a digit or a key
/// could hide behind `\u0034`, go through the JSON parser instead.
pub fn mask_body_bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Vec::new();
    if mask_body_changed(bytes, &mut out) {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(bytes)
    }
}

/// [`mask_body_bytes`] appended to `out`: the journal writes every field of an entry into
/// one reused buffer.
pub fn mask_body_into(bytes: &[u8], out: &mut Vec<u8>) {
    if !mask_body_changed(bytes, out) {
        out.extend_from_slice(bytes);
    }
}

/// Appends the masked body to `out` when masking changes it; appends nothing and answers
/// `false` when the body is fine as it is.
fn mask_body_changed(bytes: &[u8], out: &mut Vec<u8>) -> bool {
    if bytes.contains(&b'\\') {
        return serde_json::to_writer(out, &mask_body(bytes)).is_ok();
    }
    Scanner::new(bytes, out).run()
}

/// One pass over an escape-free body. Outside strings it follows JSON's shape only as far as
/// it must: a string followed by `:` is a key; a secret key's value is skipped (brackets
/// matched, strings respected) and written as `"***"`; a number holding a long digit run is
/// written as a masked string. Input that is not JSON is still scanned for digit runs.
struct Scanner<'a, 'o> {
    bytes: &'a [u8],
    at: usize,
    out: &'o mut Vec<u8>,
    /// `out` holds `bytes[..copied]` (plus replacements); untouched bodies write nothing.
    copied: usize,
    changed: bool,
}

impl<'a, 'o> Scanner<'a, 'o> {
    fn new(bytes: &'a [u8], out: &'o mut Vec<u8>) -> Self {
        Scanner {
            bytes,
            at: 0,
            out,
            copied: 0,
            changed: false,
        }
    }

    /// Replaces `bytes[start..end]` with `with` in the output.
    fn replace(&mut self, start: usize, end: usize, with: &[u8]) {
        self.copy_up_to(start);
        self.out.extend_from_slice(with);
        self.copied = end;
    }

    /// Copies the input up to `start` into the output, where a replacement goes next.
    fn copy_up_to(&mut self, start: usize) {
        if !self.changed {
            self.out.reserve(self.bytes.len() + 8);
            self.changed = true;
        }
        self.out.extend_from_slice(&self.bytes[self.copied..start]);
    }

    /// Whether anything was masked (and so written to `out`).
    fn run(mut self) -> bool {
        let bytes = self.bytes;
        while self.at < bytes.len() {
            match bytes[self.at] {
                b'"' => {
                    let start = self.at;
                    let end = string_end(bytes, start);
                    // An unterminated string (not JSON) runs to the end of the body.
                    let content_end = if bytes[end - 1] == b'"' && end > start + 1 {
                        end - 1
                    } else {
                        end
                    };
                    self.mask_runs(start + 1, content_end);
                    self.at = end;
                    let after = skip_ws(bytes, end);
                    if bytes.get(after) != Some(&b':') {
                        continue;
                    }
                    let key = &bytes[start + 1..content_end];
                    if is_secret_field(key) {
                        let value = skip_ws(bytes, after + 1);
                        let described = matches!(bytes.get(value), Some(b'{' | b'['));
                        if !bytes[value..].starts_with(b"null") && value < bytes.len() && !described
                        {
                            let value_end = value_end(bytes, value);
                            self.replace(value, value_end, b"\"***\"");
                            self.at = value_end;
                        }
                    } else if is_card_field(key) {
                        let value = skip_ws(bytes, after + 1);
                        if bytes.get(value) == Some(&b'"') {
                            let value_end = string_end(bytes, value);
                            let text =
                                &bytes[value + 1..value_end.saturating_sub(1).max(value + 1)];
                            if let Some(masked) = masked_grouped_card(text) {
                                self.replace(value + 1, value + 1 + text.len(), &masked);
                                self.at = value_end;
                            }
                        }
                    }
                }
                b'-' | b'0'..=b'9' => {
                    let start = self.at;
                    let mut end = start;
                    while end < bytes.len()
                        && matches!(bytes[end], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                    {
                        end += 1;
                    }
                    if has_long_digit_run(&bytes[start..end]) {
                        let text = String::from_utf8_lossy(&bytes[start..end]);
                        let masked = format!("\"{}\"", mask_text(&text));
                        self.replace(start, end, masked.as_bytes());
                    }
                    self.at = end;
                }
                _ => self.at += 1,
            }
        }
        if self.changed {
            self.out.extend_from_slice(&bytes[self.copied..]);
        }
        self.changed
    }

    /// Masks the long digit runs and grouped card numbers inside a string's contents.
    fn mask_runs(&mut self, start: usize, end: usize) {
        // Most strings (keys, names, codes) hold neither: rule them out in one tight pass.
        let text = &self.bytes[start..end];
        if end - start < 13 || !(has_long_digit_run(text) || may_hold_grouped_card(text)) {
            return;
        }
        let bytes = self.bytes;
        for_each_card_like_span(&bytes[start..end], |run| {
            self.copy_up_to(start + run.start);
            write_masked_span(&bytes[start + run.start..start + run.end], self.out);
            self.copied = start + run.end;
        });
    }
}

/// The index just past the string starting at `start` (an unterminated string runs to the end).
fn string_end(bytes: &[u8], start: usize) -> usize {
    match memchr::memchr(b'"', &bytes[start + 1..]) {
        Some(p) => start + 1 + p + 1,
        None => bytes.len(),
    }
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The index just past the JSON value starting at `start`: a string, a bracketed value
/// (brackets matched, strings respected) or a bare token up to the next delimiter.
fn value_end(bytes: &[u8], start: usize) -> usize {
    match bytes[start] {
        b'"' => string_end(bytes, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        i = string_end(bytes, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            bytes.len()
        }
        _ => {
            let mut i = start;
            while i < bytes.len()
                && !matches!(bytes[i], b',' | b'}' | b']')
                && !bytes[i].is_ascii_whitespace()
            {
                i += 1;
            }
            i.max(start + 1)
        }
    }
}

/// Masks a raw body: JSON is masked field by field; anything else digit run by digit run.
pub fn mask_body(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(mut v) => {
            mask_json(&mut v);
            v
        }
        Err(_) => Value::String(mask_text(&String::from_utf8_lossy(bytes)).into_owned()),
    }
}

/// A secret shown only by its ends: `TEST-1234...6796`.
pub fn mask_secret(secret: &str) -> String {
    let mut out = Vec::with_capacity(16);
    mask_secret_into(secret, &mut out);
    // Whole characters of a `str` and ASCII: always UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// [`mask_secret`] appended to `out`: the journal writes every request's tenant this way,
/// without an intermediate string or the formatting machinery.
pub fn mask_secret_into(secret: &str, out: &mut Vec<u8>) {
    match secret_ends(secret) {
        Some((head, tail)) => {
            for part in [head, "...", tail] {
                out.extend_from_slice(part.as_bytes());
            }
        }
        None => out.extend_from_slice(b"***"),
    }
}

/// The first eight and last four characters a masked secret keeps; `None` when the secret is
/// too short to show any of it.
fn secret_ends(secret: &str) -> Option<(&str, &str)> {
    if secret.is_ascii() {
        // Credentials nearly always are: characters are bytes.
        let n = secret.len();
        return (n > 12).then(|| (&secret[..8], &secret[n - 4..]));
    }
    let count = secret.chars().count();
    if count <= 12 {
        return None;
    }
    let head_end = secret
        .char_indices()
        .nth(8)
        .map_or(secret.len(), |(i, _)| i);
    let tail_start = secret
        .char_indices()
        .nth(count - 4)
        .map_or(secret.len(), |(i, _)| i);
    Some((&secret[..head_end], &secret[tail_start..]))
}

/// A header value as the journal shows it.
pub fn mask_header<'a>(name: &str, value: &'a str) -> Cow<'a, str> {
    if name.eq_ignore_ascii_case("authorization") {
        return Cow::Owned(match value.split_once(' ') {
            Some((scheme, token)) => format!("{scheme} {}", mask_secret(token.trim())),
            None => mask_secret(value),
        });
    }
    if SECRET_HEADERS.iter().any(|h| name.eq_ignore_ascii_case(h)) {
        return Cow::Borrowed("***");
    }
    mask_text(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The plain rule `has_long_digit_run` must agree with: a digit run of 14 or more, or of
    /// exactly 13 that passes the Luhn check.
    fn plain_long_run(bytes: &[u8]) -> bool {
        bytes.split(|b| !b.is_ascii_digit()).any(|run| {
            run.len() >= 14 || run.len() == 13 && crate::card::luhn(&String::from_utf8_lossy(run))
        })
    }

    #[test]
    fn long_digit_runs_are_found_wherever_they_sit() {
        // Every text of up to 18 bytes made of digits and letters (longer ones: the property
        // below).
        for len in 0..=18 {
            for pattern in 0u32..(1 << len) {
                let text: Vec<u8> = (0..len)
                    .map(|i| if pattern >> i & 1 == 1 { b'7' } else { b'x' })
                    .collect();
                assert_eq!(
                    has_long_digit_run(&text),
                    plain_long_run(&text),
                    "{}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
    }

    #[test]
    fn card_numbers_keep_first_six_and_last_four() {
        assert_eq!(
            mask_text("pan 4509953566233704 end"),
            "pan 450995******3704 end"
        );
        assert_eq!(mask_text("378282246310005"), "378282*****0005");
        assert_eq!(mask_text("order 123456 ok"), "order 123456 ok");
        assert_eq!(
            mask_text("ünïcode 5031433215406351"),
            "ünïcode 503143******6351"
        );
    }

    #[test]
    fn json_bodies_lose_card_numbers_and_secrets() {
        let mut v = json!({"card_number": "5031433215406351", "security_code": "123",
                           "nested": [{"pan": 4235647728025682u64}], "name": "APRO"});
        mask_json(&mut v);
        assert_eq!(
            v,
            json!({"card_number": "503143******6351", "security_code": "***",
                   "nested": [{"pan": "423564******5682"}], "name": "APRO"})
        );
    }

    fn fast(body: &str) -> String {
        String::from_utf8(mask_body_bytes(body.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn raw_bodies_are_masked_without_a_parse() {
        assert_eq!(
            fast(r#"{"card_number":"5031433215406351","security_code": "123","name":"APRO"}"#),
            r#"{"card_number":"503143******6351","security_code": "***","name":"APRO"}"#
        );
        // Numbers become masked strings (the body stays JSON); an object under a secret's
        // name describes it and is masked like any other.
        assert_eq!(
            fast(r#"{"pan":-4235647728025682.5,"CVV":{"a":[1,"}"]},"password":null,"n":12}"#),
            r#"{"pan":"-423564******5682.5","CVV":{"a":[1,"}"]},"password":null,"n":12}"#
        );
        assert_eq!(
            fast(r#"{"security_code":{"length":3,"card_location":"back"},"cvv":123}"#),
            r#"{"security_code":{"length":3,"card_location":"back"},"cvv":"***"}"#
        );
        // Thirteen digits are a card number only when they pass the Luhn check, as every
        // 13-digit card number does; Mercado Pago's 13-digit card ids do not.
        assert_eq!(
            fast(r#"{"id":"4222222222222","card_id":"4222222222223"}"#),
            r#"{"id":"422222***2222","card_id":"4222222222223"}"#
        );
        assert_eq!(
            mask_text("/v1/customers/1-a/cards/4222222222223"),
            "/v1/customers/1-a/cards/4222222222223"
        );
        assert_eq!(
            fast("card=4509953566233704&x=1"),
            r#"card="450995******3704"&x=1"#
        );
        assert_eq!(
            fast(r#"{"k":"45099535662337041234"}"#),
            r#"{"k":"********************"}"#
        );
        assert_eq!(
            fast(r#"{"unterminated":"4509953566233704"#),
            r#"{"unterminated":"450995******3704"#
        );
        // Escapes go through the parser, which decodes them first.
        assert_eq!(
            fast(r#"{"c\u0076v":"1","n":"\u00345099535662337041"}"#),
            r#"{"cvv":"***","n":"450995*******7041"}"#
        );
    }

    #[test]
    fn card_numbers_typed_in_groups_are_masked_in_card_fields() {
        assert_eq!(
            fast(r#"{"card_number":"4509 9535 6623 3704","cardNumber" : "4509-9535-6623-3704"}"#),
            r#"{"card_number":"450995******3704","cardNumber" : "450995******3704"}"#
        );
        // The parser's path (a body with an escape) masks the same way.
        assert_eq!(
            fast(r#"{"pan":"4509 9535 6623 3704","n":"\u0041"}"#),
            r#"{"pan":"450995******3704","n":"A"}"#
        );
        // In any other field too, when it reads as a card number.
        assert_eq!(
            fast(r#"{"nickname":"4509.9535.6623.3704","network":"x 3782 822463 10005"}"#),
            r#"{"nickname":"450995******3704","network":"x 378282*****0005"}"#
        );
        // A card number followed by another group is still one.
        assert_eq!(
            fast(r#"{"nickname":"4509 9535 6623 3704 1"}"#),
            r#"{"nickname":"450995******3704 1"}"#
        );
        // Texts that are not a grouped card number are left alone.
        for untouched in [
            r#"{"phone":"+55 11 98765 4321"}"#,
            r#"{"phone":"4509 9535 6623 3705"}"#,
            r#"{"date":"2024-05-22 10:03:28.653"}"#,
            r#"{"card_number":"4509 9535"}"#,
            r#"{"card_number":12}"#,
        ] {
            assert_eq!(fast(untouched), untouched);
        }
    }

    #[test]
    fn grouped_card_numbers_are_masked_inside_sentences() {
        assert_eq!(
            mask_text("\"4111 1111 1111 1111\" is not a valid choice."),
            "\"411111******1111\" is not a valid choice."
        );
        assert_eq!(
            mask_text("a 4111-1111-1111-1111 and 4509953566233704"),
            "a 411111******1111 and 450995******3704"
        );
        // Copied text: double spaces, tabs, no-break spaces, underscores, slashes, and blanks
        // of mixed kinds in one number.
        for typed in [
            "4111 1111 1111  1111",
            "4111\u{a0}1111 1111 1111",
            "4111  1111  1111  1111",
            "4111\t1111\t1111\t1111",
            "4111\u{a0}1111\u{a0}1111\u{a0}1111",
            "4111_1111_1111_1111",
            "4111/1111/1111/1111",
            "4111 - 1111 - 1111 - 1111",
        ] {
            assert_eq!(mask_text(typed), "411111******1111", "{typed:?}");
        }
        // A card number inside a longer chain of groups: a phone number before it, more
        // groups after it.
        assert_eq!(
            mask_text("+55 11 98765 4321 3782 822463 10005"),
            "+55 11 98765 4321 378282*****0005"
        );
        assert_eq!(
            mask_text("4111 1111 1111 1111 1111 1111"),
            "411111******1111 1111 1111"
        );
        // A stretch that passes from an earlier group overlaps the real card: both are
        // masked together, never the card's middle digits shown.
        let masked = mask_text("+55 11 98765 4306 4509 9535 6623 3704");
        assert!(!masked.contains("9535"), "{masked}");
        assert!(!masked.contains("6623"), "{masked}");
        assert_eq!(
            mask_text("Ref 2028 4111 1111 1111 1111"),
            "Ref ********************"
        );
        for kept in [
            "+1 212 555 4240",
            "+55 11 98765 4321",
            "4111 1111 1111 1112",
            "41 1111 1111 1111 11",
            "2024/05/22 10:03:28.653",
            "4111    1111 1111 1111",
            "+55 11 98765-4321 / 91234-5671",
            "020 7946 0958 / 0161 496 0000",
        ] {
            assert_eq!(mask_text(kept), kept);
        }
    }

    #[test]
    fn untouched_bodies_are_borrowed() {
        let body = br#"{"id":"tok_1","last_four":"0008","items":[1,2,3]}"#;
        assert!(matches!(mask_body_bytes(body), Cow::Borrowed(_)));
        assert!(matches!(mask_body_bytes(b""), Cow::Borrowed(_)));
    }

    proptest::proptest! {
        /// The byte scanner masks exactly what parsing, masking and re-serialising masks.
        #[test]
        fn the_scanner_agrees_with_the_json_masker(value in json_value()) {
            let text = serde_json::to_string(&value).unwrap();
            let scanned: Value = serde_json::from_slice(&mask_body_bytes(text.as_bytes())).unwrap();
            let mut expected = value.clone();
            mask_json(&mut expected);
            proptest::prop_assert_eq!(scanned, expected);
        }

        #[test]
        fn the_scanner_never_panics_and_never_keeps_a_long_run(
            bytes in proptest::collection::vec(proptest::sample::select(b"0123456789\"{}[],: -.eaZ\\".to_vec()), 0..200)
        ) {
            proptest::prop_assert!(!plain_long_run(&mask_body_bytes(&bytes)));
        }

        #[test]
        fn long_digit_runs_agree_with_the_plain_count(
            bytes in proptest::collection::vec(proptest::sample::select(b"00123456789x".to_vec()), 0..120)
        ) {
            proptest::prop_assert_eq!(has_long_digit_run(&bytes), plain_long_run(&bytes));
        }
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let key = prop_oneof![
            Just("card_number".to_string()),
            Just("CVV".to_string()),
            Just("client_secret".to_string()),
            Just("name".to_string()),
            "[a-z_]{1,8}",
            "[0-9]{12,20}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[0-9]{1,22}".prop_map(Value::String),
            "[a-z ]{0,6}[0-9]{0,20}[a-z:,{}]{0,4}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 40, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec((key.clone(), inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    #[test]
    fn secrets_show_only_their_ends() {
        assert_eq!(
            mask_header("Authorization", "Bearer TEST-1234567890-448870796"),
            "Bearer TEST-123...0796"
        );
        assert_eq!(mask_header("X-Client-Secret", "s3cr3t"), "***");
        assert_eq!(mask_secret("short"), "***");
        assert_eq!(mask_secret("áéíóúáéíóúáéí"), "áéíóúáéí...úáéí");
        assert_eq!(mask_secret("áéíóúáéíóúáé"), "***");
    }
}
