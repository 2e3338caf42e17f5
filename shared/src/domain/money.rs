//! Money, in one place. Amounts are integers in the currency's minor unit, exactly as Stripe's API
//! sends them: cents for USD, yen for JPY (a zero-decimal currency), fils for KWD (three decimals).
//! Every text that shows an amount (Slack fields, renewal headlines, CRM task bodies, digests)
//! formats it here, so ¥50,000 reads "50,000 JPY" everywhere and 12.345 KWD never turns into
//! "123.45 KWD".

/// Stripe's zero-decimal currencies: the API amount is in whole units.
/// (<https://docs.stripe.com/currencies#zero-decimal>)
const ZERO_DECIMAL: [&str; 16] =
    ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"];

/// Stripe's three-decimal currencies: the API amount is in thousandths.
/// (<https://docs.stripe.com/currencies#three-decimal>)
const THREE_DECIMAL: [&str; 5] = ["bhd", "jod", "kwd", "omr", "tnd"];

/// Digits after the decimal point of a currency's minor unit (2 for an unknown or missing code).
pub fn minor_digits(currency: Option<&str>) -> u32 {
    let Some(code) = currency.map(|c| c.trim().to_ascii_lowercase()) else { return 2 };
    if ZERO_DECIMAL.contains(&code.as_str()) {
        0
    } else if THREE_DECIMAL.contains(&code.as_str()) {
        3
    } else {
        2
    }
}

/// Minor units per major unit (1 for JPY, 100 for USD, 1,000 for KWD).
pub fn minor_per_major(currency: Option<&str>) -> i64 {
    10_i64.pow(minor_digits(currency))
}

/// An amount for people: grouped thousands, the currency's own decimals, its upper-case code:
/// `1,234.50 USD`, `50,000 JPY`, `12.345 KWD`, `-999.00 EUR`; no code when there is none.
pub fn format(minor: i64, currency: Option<&str>) -> String {
    let code = currency.map(str::trim).filter(|c| !c.is_empty());
    let digits = minor_digits(code);
    let scale = 10_u64.pow(digits);
    let abs = minor.unsigned_abs();
    let major = (abs / scale).to_string();
    let mut grouped = String::with_capacity(major.len() + major.len() / 3 + 8);
    if minor < 0 {
        grouped.push('-');
    }
    for (i, ch) in major.chars().enumerate() {
        if i > 0 && (major.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    if digits > 0 {
        grouped.push_str(&format!(".{:0width$}", abs % scale, width = digits as usize));
    }
    match code {
        Some(c) => format!("{grouped} {}", c.to_ascii_uppercase()),
        None => grouped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_currency_with_its_own_minor_unit() {
        assert_eq!(format(123_450, Some("usd")), "1,234.50 USD");
        assert_eq!(format(5, None), "0.05");
        assert_eq!(format(50_000, Some("jpy")), "50,000 JPY");
        assert_eq!(format(1_000_000, Some("JPY")), "1,000,000 JPY");
        assert_eq!(format(12_345, Some("kwd")), "12.345 KWD");
        assert_eq!(format(1_500_250, Some("bhd")), "1,500.250 BHD");
        assert_eq!(format(-99_900, Some("eur")), "-999.00 EUR");
        assert_eq!(format(-5, Some("kwd")), "-0.005 KWD");
        assert_eq!(format(i64::MIN, Some("usd")), "-92,233,720,368,547,758.08 USD");
        assert_eq!(
            (minor_per_major(Some("jpy")), minor_per_major(Some("usd")), minor_per_major(Some("kwd"))),
            (1, 100, 1000)
        );
    }
}
