//! Property tests: every public parser, constructor and `check_*` rule of the domain crate is
//! fed random and adversarial input, must answer `Ok` or `Err` without panicking, and must keep
//! its invariant (round trips, exact cents, ceilings in integer arithmetic, date range, errors
//! that name their field).

use std::collections::BTreeSet;
use std::fmt::Debug;

use chrono::{Datelike, NaiveDate};
use domain::ValidationError;
use domain::access::Role as AccessRole;
use domain::actor::{
    ActorKind, ActorProfile, ActorProfileParts, HierarchyNode, MAX_POPULATION, check_parent,
    parse_actor_name, parse_population,
};
use domain::dates::{EARLIEST_YEAR, LATEST_YEAR, check_date};
use domain::funding::{
    AllocationStatus, AllocationTerms, AllocationTermsParts, BudgetKind, CeilingCase, FindingRule,
    PaymentKind, ProgrammeDetails, ProgrammeParts, case_for, check_envelope, ledger_entry,
    parse_programme_code, parse_reference,
};
use domain::identifiers::{Email, Pic, VatNumber, Website, WikidataId};
use domain::ids::{ActorId, StreamId};
use domain::membership::{Role as MemberRole, RoleSet, check_members, check_membership_dates};
use domain::money::{Euros, MAX_EUROS, Rate, cents_to_decimal, parse_plain_decimal, share};
use domain::partnership::{
    GovernanceLevel, PartnershipDetails, PartnershipDetailsParts, PartnershipKind,
    PartnershipStatus, Theme, parse_description, parse_title, unique_set,
};
use domain::territory::{
    CountryCode, FIRST_LAU_YEAR, LAST_LAU_YEAR, LauUnit, NUTS_VERSIONS, NutsRegion,
};
use domain::text::{bounded_text, single_line};
use proptest::prelude::*;
use proptest::sample::select;
use rust_decimal::Decimal;

const MAX_CENTS: i64 = MAX_EUROS * 100;

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Free text of every awkward kind: arbitrary Unicode, whitespace of all sorts around words,
/// control characters, combining marks, bidirectional marks, and very long strings.
fn text_input() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        r"\PC{0,40}",
        r"[ \t\n\r\x{0b}\x{0c}\x{85}\x{a0}\x{2028}\x{2029}\x{3000}\x{feff}]{0,4}[a-zA-Z ]{0,12}[ \t\n\r\x{0b}\x{a0}\x{2028}\x{3000}]{0,4}",
        r"[a-z\x{00}-\x{1f}\x{7f}-\x{9f}]{0,12}",
        r"[a-z]{0,3}[\x{300}-\x{36f}\x{20d0}-\x{20ff}]{0,40}",
        r"[a-z \x{61c}\x{200e}\x{200f}\x{202a}-\x{202e}\x{2066}-\x{2069}]{0,24}",
        (0usize..25_000, any::<char>()).prop_map(|(n, c)| c.to_string().repeat(n)),
        (290usize..310, select(vec!['x', 'é', '🦀', '\u{301}']))
            .prop_map(|(n, c)| c.to_string().repeat(n)),
    ]
}

/// Number-like text: signs, many digits, exponents, separators, Unicode digits, padding.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        r" ?[-+]?[0-9]{0,40}(\.[0-9]{0,40})?([eE][-+]?[0-9]{1,4})? ?",
        r"[0-9]{1,14}(\.[0-9]{0,6})?",
        r"0{0,30}[0-9]{1,3}\.[0-9]{1,2}0{0,30}",
        r"[-+]?[0-9\x{660}-\x{669}\x{ff10}-\x{ff19}\x{966}-\x{96f}.,_ \x{a0}]{0,14}",
        r"(NaN|nan|inf|-inf|Infinity|-0|-0\.0|\.5|5\.|0x1F|1_000|1,5|１２|٣)",
        r"-?[0-9]{26,30}(\.[0-9]{26,30})?",
    ]
}

/// A field name as a caller might pass it.
fn field_name() -> impl Strategy<Value = String> {
    r"[a-zA-Z]{1,16}"
}

/// Any date chrono can represent, weighted towards the edges of the accepted range.
fn any_date() -> impl Strategy<Value = NaiveDate> {
    prop_oneof![
        (NaiveDate::MIN.num_days_from_ce()..=NaiveDate::MAX.num_days_from_ce()).prop_map(|d| {
            NaiveDate::from_num_days_from_ce_opt(d).expect("within chrono's range")
        }),
        (1890i32..2210, 1u32..=12, 1u32..=31)
            .prop_filter_map("no such day", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)),
        select(vec![
            NaiveDate::MIN,
            NaiveDate::MAX,
            NaiveDate::from_ymd_opt(EARLIEST_YEAR, 1, 1).expect("date"),
            NaiveDate::from_ymd_opt(EARLIEST_YEAR - 1, 12, 31).expect("date"),
            NaiveDate::from_ymd_opt(LATEST_YEAR, 12, 31).expect("date"),
            NaiveDate::from_ymd_opt(LATEST_YEAR + 1, 1, 1).expect("date"),
            NaiveDate::from_ymd_opt(0, 1, 1).expect("date"),
            NaiveDate::from_ymd_opt(-1, 12, 31).expect("date"),
            NaiveDate::from_ymd_opt(9999, 12, 31).expect("date"),
            NaiveDate::from_ymd_opt(10_000, 1, 1).expect("date"),
        ]),
    ]
}

fn in_range(date: NaiveDate) -> bool {
    (EARLIEST_YEAR..=LATEST_YEAR).contains(&date.year())
}

/// Whole cents of an amount the registry accepts, weighted towards the edges.
fn cents() -> impl Strategy<Value = i64> {
    prop_oneof![
        0..=MAX_CENTS,
        0i64..10_000,
        select(vec![0, 1, 99, 100, MAX_CENTS - 1, MAX_CENTS]),
    ]
}

fn euros() -> impl Strategy<Value = Euros> {
    cents().prop_map(|c| Euros::from_cents(c).expect("cents in range"))
}

fn rate() -> impl Strategy<Value = Rate> {
    prop_oneof![0i64..=10_000, select(vec![0, 1, 5000, 7500, 9999, 10_000])]
        .prop_map(|bp| Rate::from_basis_points(bp).expect("basis points in range"))
}

fn any_decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
            0u32..=28
        )
            .prop_map(|(lo, mid, hi, neg, scale)| Decimal::from_parts(lo, mid, hi, neg, scale)),
        (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
        (-10i64..=MAX_CENTS + 10, 0u32..=4).prop_map(|(m, s)| Decimal::new(m, s)),
    ]
}

const COUNTRIES: [&str; 10] = ["ES", "FR", "EL", "GR", "DE", "PT", "IT", "XK", "US", "es"];

fn country() -> impl Strategy<Value = CountryCode> {
    select(COUNTRIES.to_vec()).prop_map(|c| CountryCode::parse(c).expect("assigned country"))
}

fn nuts() -> impl Strategy<Value = NutsRegion> {
    (
        r"(ES|FR|EL|GR|DE|PT|IT|XK|US)[0-9A-Z]{1,3}",
        select(NUTS_VERSIONS.to_vec()),
    )
        .prop_map(|(code, v)| NutsRegion::parse(&code, i32::from(v)).expect("valid NUTS"))
}

fn lau() -> impl Strategy<Value = LauUnit> {
    (
        r"(ES|FR|EL|GR|DE|PT|IT|XK|US)_[0-9A-Z]{1,12}",
        i32::from(FIRST_LAU_YEAR)..=i32::from(LAST_LAU_YEAR),
    )
        .prop_map(|(code, y)| LauUnit::parse(&code, y).expect("valid LAU"))
}

fn ceiling_case() -> impl Strategy<Value = CeilingCase> {
    prop_oneof![
        select(vec![
            "STANDARD",
            "LESS_DEVELOPED_REGION",
            "TRANSITION_REGION",
            "ANNEX_IV"
        ])
        .prop_map(str::to_owned),
        "[A-Z][A-Z0-9_]{0,63}",
    ]
    .prop_map(|c| CeilingCase::parse(&c).expect("valid case"))
}

fn actor_kind() -> impl Strategy<Value = ActorKind> {
    select(ActorKind::ALL.to_vec())
}

fn member_roles() -> impl Strategy<Value = Vec<MemberRole>> {
    prop::collection::vec(select(MemberRole::ALL.to_vec()), 0..12)
}

fn role_set() -> impl Strategy<Value = RoleSet> {
    prop::collection::btree_set(select(MemberRole::ALL.to_vec()), 1..4).prop_map(|mut set| {
        if set.contains(&MemberRole::Mentor) {
            set.remove(&MemberRole::Mentee);
        }
        let roles: Vec<MemberRole> = set.into_iter().collect();
        RoleSet::parse(&roles).expect("distinct roles, not mentor and mentee")
    })
}

fn small_id() -> impl Strategy<Value = ActorId> {
    (0u128..5).prop_map(|n| ActorId::from_uuid(uuid::Uuid::from_u128(n)))
}

/// Every code of every code enum, so that codes of one enum are also fed to the others.
fn all_codes() -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = Vec::new();
    codes.extend(ActorKind::ALL.iter().map(|v| v.code()));
    codes.extend(AccessRole::ALL.iter().map(|v| v.code()));
    codes.extend(PartnershipKind::ALL.iter().map(|v| v.code()));
    codes.extend(Theme::ALL.iter().map(|v| v.code()));
    codes.extend(GovernanceLevel::ALL.iter().map(|v| v.code()));
    codes.extend(PartnershipStatus::ALL.iter().map(|v| v.code()));
    codes.extend(MemberRole::ALL.iter().map(|v| v.code()));
    codes.extend(AllocationStatus::ALL.iter().map(|v| v.code()));
    codes.extend(PaymentKind::ALL.iter().map(|v| v.code()));
    codes.extend(BudgetKind::ALL.iter().map(|v| v.code()));
    codes.extend(FindingRule::ALL.iter().map(|v| v.code()));
    codes
}

fn code_input() -> impl Strategy<Value = String> {
    prop_oneof![
        text_input(),
        select(all_codes()).prop_map(str::to_owned),
        (select(all_codes()), 0u8..5).prop_map(|(c, how)| match how {
            0 => c.to_lowercase(),
            1 => format!(" {c}"),
            2 => format!("{c} "),
            3 => c[..c.len() - 1].to_owned(),
            _ => format!("{c}\u{0}"),
        }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Independent oracles and shared checks
// ---------------------------------------------------------------------------------------------

/// An error names a non-empty field (the expected one) and says something.
fn names(e: &ValidationError, field: &str) -> Result<(), TestCaseError> {
    prop_assert!(!e.field.is_empty(), "error without a field: {e:?}");
    prop_assert_eq!(&e.field, field);
    prop_assert!(
        !e.message.trim().is_empty(),
        "error without a message: {e:?}"
    );
    prop_assert!(!e.to_string().is_empty());
    Ok(())
}

/// An error names one of the fields whose rule the input broke.
fn names_one_of(e: &ValidationError, broken: &[&str]) -> Result<(), TestCaseError> {
    prop_assert!(
        broken.contains(&e.field.as_str()),
        "error names {:?}, broken rules were {broken:?}: {e:?}",
        e.field
    );
    names(e, &e.field.clone())
}

/// A plain decimal as written: `(whole digits, fraction digits)`, both ASCII, at most 28 each.
fn plain_shape(raw: &str) -> Option<(&str, &str)> {
    let text = raw.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let digits = |s: &str| !s.is_empty() && s.len() <= 28 && s.bytes().all(|b| b.is_ascii_digit());
    (digits(whole) && digits(fraction)).then_some((whole, fraction))
}

/// The value of a plain decimal scaled by `10^places`, computed in integers; `None` when it has
/// more decimals than `places` or does not fit in `i128`.
fn scaled(whole: &str, fraction: &str, places: usize) -> Option<i128> {
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > places {
        return None;
    }
    let whole = whole.trim_start_matches('0');
    if whole.len() > 20 {
        return None;
    }
    let w: i128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let f: i128 = format!("{fraction:0<places$}").parse().unwrap_or(0);
    Some(w * 10i128.pow(u32::try_from(places).ok()?) + f)
}

/// The canonical text of a plain decimal: no leading zeros, no trailing zeros, no bare point.
fn canonical(whole: &str, fraction: &str) -> String {
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{fraction}")
    }
}

fn text_oracle(raw: &str, min: usize, max: usize, single: bool) -> bool {
    let t = raw.trim();
    let n = t.chars().count();
    let bidi = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    let allowed = |c: char| {
        !bidi(c)
            && (!c.is_control() || (!single && matches!(c, '\n' | '\r' | '\t')))
            && !(single && matches!(c, '\u{2028}' | '\u{2029}'))
    };
    (min..=max).contains(&n) && t.chars().all(allowed)
}

/// Checks a free-text parser against the rule it states, and that its output re-parses to
/// itself.
fn check_text(
    parse: impl Fn(&str) -> Result<String, ValidationError>,
    field: &str,
    raw: &str,
    (min, max, single): (usize, usize, bool),
) -> Result<(), TestCaseError> {
    let result = parse(raw);
    prop_assert_eq!(
        result.is_ok(),
        text_oracle(raw, min, max, single),
        "{:?}",
        result
    );
    match result {
        Ok(text) => {
            prop_assert_eq!(text.as_str(), raw.trim());
            let n = text.chars().count();
            prop_assert!((min..=max).contains(&n));
            if single {
                let breaks = ['\n', '\r', '\t', '\u{2028}', '\u{2029}'];
                prop_assert!(!text.contains(breaks), "a line break in {:?}", text);
            }
            prop_assert_eq!(parse(&text), Ok(text.clone()), "not idempotent");
        }
        Err(e) => names(&e, field)?,
    }
    Ok(())
}

fn check_codes<T: Copy + PartialEq + Debug>(
    all: &[T],
    code: fn(T) -> &'static str,
    from_code: fn(&str) -> Option<T>,
    raw: &str,
) -> Result<(), TestCaseError> {
    for v in all {
        prop_assert_eq!(from_code(code(*v)), Some(*v));
    }
    if let Some(v) = from_code(raw) {
        prop_assert_eq!(
            code(v),
            raw,
            "from_code accepted a text that is not the code"
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    // --- text.rs, and the text parsers built on it --------------------------------------------

    #[test]
    fn bounded_and_single_line_text(
        raw in text_input(),
        field in field_name(),
        min in 0usize..8,
        extra in 0usize..40,
    ) {
        let max = min + extra;
        check_text(|r| bounded_text(&field, r, min, max), &field, &raw, (min, max, false))?;
        check_text(|r| single_line(&field, r, min, max), &field, &raw, (min, max, true))?;
        // Bounds given the wrong way round accept nothing.
        if min > 0 {
            prop_assert!(bounded_text(&field, &raw, min, min - 1).is_err());
        }
    }

    #[test]
    fn names_titles_descriptions_and_references(raw in text_input()) {
        check_text(parse_actor_name, "name", &raw, (1, 300, true))?;
        check_text(parse_title, "title", &raw, (1, 300, true))?;
        check_text(parse_description, "description", &raw, (0, 20_000, false))?;
        check_text(parse_reference, "reference", &raw, (1, 120, true))?;
    }

    // --- territory.rs -------------------------------------------------------------------------

    #[test]
    fn country_codes(
        raw in prop_oneof![
            text_input(),
            r" ?[A-Za-z]{1,3} ?",
            r"[A-Za-z\x{c0}-\x{ff}\x{130}\x{131}\x{17f}\x{212a}]{2}",
        ]
    ) {
        match CountryCode::parse(&raw) {
            Ok(c) => {
                let text = c.as_str();
                prop_assert_eq!(text.len(), 2);
                prop_assert!(text.bytes().all(|b| b.is_ascii_uppercase()));
                prop_assert_ne!(text, "GR", "Greece is stored as EL");
                prop_assert_eq!(text, c.to_string());
                prop_assert_eq!(CountryCode::parse(text), Ok(c));
                prop_assert_eq!(CountryCode::parse(&raw.to_ascii_lowercase()), Ok(c));
                let written = raw.trim().to_ascii_uppercase();
                prop_assert!(written == text || (written == "GR" && text == "EL"));
            }
            Err(e) => names(&e, "country")?,
        }
    }

    #[test]
    fn nuts_regions(
        raw in prop_oneof![
            text_input(),
            r" ?[A-Za-z]{2}[0-9A-Za-z]{0,4} ?",
            r"[A-Z]{2}[0-9A-Z\x{660}-\x{669}\x{c9}_-]{1,3}",
        ],
        version in prop_oneof![
            any::<i32>(),
            select(NUTS_VERSIONS.to_vec()).prop_map(i32::from),
            1990i32..2030,
            select(vec![i32::MIN, i32::MAX, -1, 0, 65_536 + 2021]),
        ],
    ) {
        let code = raw.trim().to_ascii_uppercase();
        let b = code.as_bytes();
        let shaped = (3..=5).contains(&b.len())
            && b[..2].iter().all(u8::is_ascii_uppercase)
            && b[2..].iter().all(u8::is_ascii_alphanumeric);
        let known = u16::try_from(version).is_ok_and(|v| NUTS_VERSIONS.contains(&v));
        match NutsRegion::parse(&raw, version) {
            Ok(n) => {
                prop_assert!(shaped && known);
                prop_assert_eq!(n.code(), code.as_str());
                prop_assert_eq!(i32::from(n.version()), version);
                prop_assert_eq!(usize::from(n.level()), n.code().len() - 2);
                prop_assert!((1..=3).contains(&n.level()));
                prop_assert_eq!(n.country_prefix(), &code[..2]);
                prop_assert_eq!(NutsRegion::parse(n.code(), version), Ok(n.clone()));
            }
            Err(e) => {
                prop_assert!(!(shaped && known));
                names(&e, if shaped { "nutsVersion" } else { "nutsCode" })?;
            }
        }
    }

    #[test]
    fn lau_units(
        raw in prop_oneof![
            text_input(),
            r" ?[A-Za-z]{2}_[0-9A-Za-z]{0,14} ?",
            r"[A-Z]{2}[_\-\x{ff3f}][0-9\x{660}-\x{669} ]{1,13}",
        ],
        year in prop_oneof![
            any::<i32>(),
            2000i32..2110,
            select(vec![i32::MIN, i32::MAX, -1, 0, 65_536 + 2020]),
        ],
    ) {
        let code = raw.trim().to_ascii_uppercase();
        let b = code.as_bytes();
        let shaped = (4..=15).contains(&b.len())
            && b[..2].iter().all(u8::is_ascii_uppercase)
            && b[2] == b'_'
            && b[3..].iter().all(u8::is_ascii_alphanumeric);
        let listed = (i32::from(FIRST_LAU_YEAR)..=i32::from(LAST_LAU_YEAR)).contains(&year);
        match LauUnit::parse(&raw, year) {
            Ok(l) => {
                prop_assert!(shaped && listed);
                prop_assert_eq!(l.code(), code.as_str());
                prop_assert_eq!(i32::from(l.year()), year);
                prop_assert_eq!(l.country_prefix(), &code[..2]);
                prop_assert_eq!(LauUnit::parse(l.code(), year), Ok(l.clone()));
            }
            Err(e) => {
                prop_assert!(!(shaped && listed));
                names(&e, if shaped { "lauYear" } else { "lauCode" })?;
            }
        }
    }

    // --- identifiers.rs -----------------------------------------------------------------------

    #[test]
    fn pics(
        raw in prop_oneof![
            text_input(),
            r" ?[0-9]{7,11} ?",
            r"[0-9\x{660}-\x{669}\x{ff10}-\x{ff19}]{9}",
        ]
    ) {
        let t = raw.trim();
        let expected = t.len() == 9 && t.bytes().all(|b| b.is_ascii_digit());
        match Pic::parse(&raw) {
            Ok(p) => {
                prop_assert!(expected);
                prop_assert_eq!(p.as_str(), t);
                prop_assert_eq!(Pic::parse(p.as_str()), Ok(p.clone()));
            }
            Err(e) => {
                prop_assert!(!expected);
                names(&e, "pic")?;
            }
        }
    }

    #[test]
    fn vat_numbers(
        raw in prop_oneof![
            text_input(),
            r"[A-Za-z]{2}[ .-]?[0-9A-Za-z .\-]{0,16}",
            r"(ES|EL|GR|XI|DE|QQ|es)[0-9A-Z\x{660}-\x{669}\x{e9}\t_]{1,14}",
        ]
    ) {
        match VatNumber::parse(&raw) {
            Ok(v) => {
                let text = v.as_str();
                prop_assert!((4..=15).contains(&text.len()));
                prop_assert!(text.bytes().all(|b| b.is_ascii_alphanumeric()));
                prop_assert!(text[..2].bytes().all(|b| b.is_ascii_uppercase()));
                prop_assert_ne!(&text[..2], "GR");
                prop_assert!(&text[..2] == "XI" || CountryCode::parse(&text[..2]).is_ok());
                let kept: String = raw
                    .chars()
                    .filter(|c| !matches!(c, ' ' | '.' | '-'))
                    .collect::<String>()
                    .to_ascii_uppercase();
                prop_assert_eq!(text, kept.as_str());
                prop_assert_eq!(VatNumber::parse(text), Ok(v.clone()));
            }
            Err(e) => names(&e, "vatNumber")?,
        }
    }

    #[test]
    fn wikidata_ids(
        raw in prop_oneof![
            text_input(),
            r" ?[qQpP]?[0-9]{0,14} ?",
            r"Q[0-9\x{660}-\x{669}\x{ff10}-\x{ff19}+\-]{1,5}",
        ]
    ) {
        let id = raw.trim().to_ascii_uppercase();
        let digits = id.strip_prefix('Q').unwrap_or("");
        let expected = (1..=12).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit());
        match WikidataId::parse(&raw) {
            Ok(w) => {
                prop_assert!(expected);
                prop_assert_eq!(w.as_str(), id.as_str());
                prop_assert_eq!(WikidataId::parse(w.as_str()), Ok(w.clone()));
            }
            Err(e) => {
                prop_assert!(!expected);
                names(&e, "wikidataId")?;
            }
        }
    }

    #[test]
    fn websites(
        raw in prop_oneof![
            text_input(),
            r"(https?|HTTP|ftp|javascript|file|data|mailto)://[a-zA-Z0-9.\-]{0,20}(:[0-9]{0,6})?(/[^ ]{0,30})?",
            r"https?://([a-z]{0,5}(:[a-z]{0,5})?@)?[a-z0-9\x{e9}\x{3b1}\-]{1,10}\.[a-z]{2,3}[/?#]\PC{0,30}",
            r"https?:[/\\]{0,3}\[?[0-9a-f:.]{0,20}\]?(/\.\.?){0,3}/?[a-z]{0,4}",
            (2020usize..2060, select(vec!["a", "é", "%", " "]))
                .prop_map(|(n, c)| format!("https://e.org/{}", c.repeat(n - 14))),
        ]
    ) {
        match Website::parse(&raw) {
            Ok(w) => {
                let text = w.as_str();
                prop_assert!(text.len() <= 2048);
                let url = url::Url::parse(text).expect("a stored website is a URL");
                prop_assert!(matches!(url.scheme(), "http" | "https"));
                prop_assert!(url.host_str().is_some_and(|h| !h.is_empty()));
                prop_assert!(url.username().is_empty() && url.password().is_none());
                prop_assert_eq!(Website::parse(text), Ok(w.clone()), "does not round-trip");
                // What the registry stores reads back as it was written, unparsed.
                prop_assert_eq!(Website::from_stored(text.to_owned()), Ok(w.clone()));
            }
            Err(e) => names(&e, "website")?,
        }
    }

    #[test]
    fn emails(
        raw in prop_oneof![
            text_input(),
            r" ?[a-zA-Z0-9._%+\-]{0,20}@[a-z0-9\-]{0,20}(\.[a-z]{0,6}){0,2} ?",
            r#"("[a-z ]{0,5}"|[a-z\x{e9}\x{3b1}]{1,5})@(\[[0-9.]{0,15}\]|[a-z\x{e9}]{1,5}\.[a-z]{2,3})"#,
            r"[a-z]{0,5} ?<[a-z]{1,5}@[a-z]{1,5}\.org>",
            (240usize..270).prop_map(|n| format!("{}@example.org", "a".repeat(n - 12))),
        ]
    ) {
        match Email::parse(&raw) {
            Ok(m) => {
                let text = m.as_str();
                prop_assert_eq!(text, raw.trim());
                prop_assert!(text.len() <= 254);
                let (_, domain) = text.rsplit_once('@').expect("an address has an @");
                prop_assert!(domain.contains('.'));
                prop_assert!(!text.contains(['<', '>', ' ']));
                prop_assert_eq!(Email::parse(text), Ok(m.clone()));
                prop_assert_eq!(Email::from_stored(text.to_owned()), Ok(m.clone()));
            }
            Err(e) => names(&e, "email")?,
        }
    }

    // --- money.rs -----------------------------------------------------------------------------

    #[test]
    fn plain_decimals(raw in number_text(), field in field_name()) {
        let shape = plain_shape(&raw);
        match parse_plain_decimal(&field, &raw) {
            Ok(d) => {
                let (whole, fraction) = shape.expect("accepted text has the plain shape");
                // Exactly as written: nothing rounded.
                prop_assert_eq!(d.normalize().to_string(), canonical(whole, fraction));
                prop_assert!(!d.is_sign_negative() || d.is_zero());
            }
            Err(e) => {
                names(&e, &field)?;
                // A plain decimal that fits the type (28 digits in all) is never refused.
                if let Some((whole, fraction)) = shape {
                    prop_assert!(whole.len() + fraction.len() > 28, "refused {:?}", raw);
                }
            }
        }
    }

    #[test]
    fn euro_amounts_from_text(raw in number_text(), field in field_name()) {
        let expected = plain_shape(&raw).and_then(|(w, f)| {
            scaled(w, f, 2)
                .filter(|c| *c <= i128::from(MAX_CENTS))
                .map(|c| (c, w.len() + f.len() <= 28))
        });
        match Euros::parse(&field, &raw) {
            Ok(e) => {
                let (c, _) = expected.expect("accepted amount is a plain decimal in range");
                prop_assert_eq!(i128::from(e.cents()), c, "cents differ for {:?}", raw);
                prop_assert_eq!(Euros::parse(&field, &e.to_string()), Ok(e));
                prop_assert_eq!(Euros::from_cents(e.cents()), Some(e));
                prop_assert_eq!(e.to_decimal().scale(), 2);
            }
            Err(e) => {
                names(&e, &field)?;
                if let Some((_, fits)) = expected {
                    prop_assert!(!fits, "refused the valid amount {:?}: {:?}", raw, e);
                }
            }
        }
    }

    #[test]
    fn euro_amounts_keep_exact_cents(
        whole in prop_oneof![0i64..=MAX_EUROS, 0i64..1000, Just(MAX_EUROS)],
        cent in 0i64..100,
        lead_zeros in 0usize..6,
        trail_zeros in 0usize..6,
        two_places in any::<bool>(),
    ) {
        let expected = i128::from(whole) * 100 + i128::from(cent);
        let mut text = format!("{}{whole}", "0".repeat(lead_zeros));
        if cent != 0 || two_places {
            let fraction = format!("{cent:02}");
            let fraction = if two_places { fraction.as_str() } else { fraction.trim_end_matches('0') };
            text = format!("{text}.{fraction}{}", "0".repeat(trail_zeros));
        }
        let parsed = Euros::parse("amount", &text);
        if expected <= i128::from(MAX_CENTS) {
            let e = parsed.expect("a valid amount parses");
            prop_assert_eq!(i128::from(e.cents()), expected, "{}", text);
        } else {
            names(&parsed.expect_err("over the maximum"), "amount")?;
        }
        let negative = Euros::parse("amount", &format!("-{text}"));
        names(&negative.expect_err("negative"), "amount")?;
    }

    #[test]
    fn euro_amounts_from_decimals_and_cents(value in any_decimal(), raw_cents in any::<i64>()) {
        let whole_cents = value.checked_mul(Decimal::ONE_HUNDRED);
        let acceptable = (!value.is_sign_negative() || value.is_zero())
            && value <= Decimal::from(MAX_EUROS)
            && whole_cents.is_some_and(|c| c.fract().is_zero());
        match Euros::from_decimal("amount", value) {
            Ok(e) => {
                prop_assert!(acceptable, "accepted {}", value);
                prop_assert_eq!(e.to_decimal(), value);
                prop_assert!((0..=MAX_CENTS).contains(&e.cents()));
            }
            Err(e) => {
                prop_assert!(!acceptable, "refused {}", value);
                names(&e, "amount")?;
            }
        }
        let from_cents = Euros::from_cents(raw_cents);
        prop_assert_eq!(from_cents.is_some(), (0..=MAX_CENTS).contains(&raw_cents));
        if let Some(e) = from_cents {
            prop_assert_eq!(e.cents(), raw_cents);
            prop_assert_eq!(e.is_zero(), raw_cents == 0);
        }
        prop_assert_eq!(cents_to_decimal(raw_cents), Decimal::new(raw_cents, 2));
    }

    #[test]
    fn rates_from_basis_points(
        bp in prop_oneof![any::<i64>(), -5i64..10_010, select(vec![i64::MIN, i64::MAX, 65_536])]
    ) {
        match Rate::from_basis_points(bp) {
            Ok(r) => {
                prop_assert!((0..=10_000).contains(&bp));
                prop_assert_eq!(i64::from(r.basis_points()), bp);
                prop_assert_eq!(r.to_decimal(), Decimal::new(bp, 4));
                prop_assert_eq!(Rate::parse_fraction("maxRate", &r.to_decimal().to_string()), Ok(r));
            }
            Err(e) => {
                prop_assert!(!(0..=10_000).contains(&bp));
                names(&e, "maxRate")?;
            }
        }
    }

    #[test]
    fn rates_from_text(
        raw in prop_oneof![
            number_text(),
            r"0\.[0-9]{0,6}",
            r"1(\.0{0,8})?1?",
            (0i64..=10_000, 0usize..10).prop_map(|(bp, z)| {
                format!("{}.{:04}{}", bp / 10_000, bp % 10_000, "0".repeat(z))
            }),
        ],
        field in field_name(),
    ) {
        let expected = plain_shape(&raw).and_then(|(w, f)| {
            scaled(w, f, 4)
                .filter(|bp| *bp <= 10_000)
                .map(|bp| (bp, w.len() + f.len() <= 28))
        });
        match Rate::parse_fraction(&field, &raw) {
            Ok(r) => {
                let (bp, _) = expected.expect("accepted rate is a fraction between 0 and 1");
                prop_assert_eq!(i128::from(r.basis_points()), bp, "{:?}", raw);
                prop_assert_eq!(Rate::parse_fraction(&field, &r.to_decimal().to_string()), Ok(r));
            }
            Err(e) => {
                names(&e, &field)?;
                if let Some((_, fits)) = expected {
                    prop_assert!(!fits, "refused the valid rate {:?}: {:?}", raw, e);
                }
            }
        }
    }

    #[test]
    fn ceilings_and_shares_are_exact(r in rate(), part in euros(), whole in euros()) {
        let exact = part.to_decimal() <= r.to_decimal() * whole.to_decimal();
        prop_assert_eq!(r.allows(part, whole), exact);
        match share(part, whole) {
            None => prop_assert!(whole.is_zero()),
            Some(s) => {
                prop_assert!(!whole.is_zero());
                prop_assert_eq!(s.scale(), 4);
                if part <= whole {
                    prop_assert!(s >= Decimal::ZERO && s <= Decimal::ONE);
                }
                if r.allows(part, whole) {
                    prop_assert!(s <= r.to_decimal(), "displayed share {} over ceiling {}", s, r.to_decimal());
                }
            }
        }
    }

    // --- dates.rs -----------------------------------------------------------------------------

    #[test]
    fn dates_outside_the_accepted_years_are_refused(date in any_date(), field in field_name()) {
        match check_date(&field, date) {
            Ok(d) => {
                prop_assert!(in_range(date));
                prop_assert_eq!(d, date);
            }
            Err(e) => {
                prop_assert!(!in_range(date));
                names(&e, &field)?;
            }
        }
    }

    // --- actor.rs -----------------------------------------------------------------------------

    #[test]
    fn populations(
        raw in prop_oneof![
            any::<i64>(),
            -3i64..200_000,
            MAX_POPULATION - 3..MAX_POPULATION + 3,
            select(vec![i64::MIN, i64::MAX, i64::from(u32::MAX), i64::from(u32::MAX) + 1]),
        ]
    ) {
        match parse_population(raw) {
            Ok(p) => {
                prop_assert!((0..=MAX_POPULATION).contains(&raw));
                prop_assert_eq!(i64::from(p), raw);
            }
            Err(e) => {
                prop_assert!(!(0..=MAX_POPULATION).contains(&raw));
                names(&e, "population")?;
            }
        }
    }

    #[test]
    fn actor_profiles(
        kind in actor_kind(),
        name in text_input(),
        country in country(),
        nuts in prop::option::of(nuts()),
        lau in prop::option::of(lau()),
        population in prop::option::of(any::<u32>()),
        pic in r"[0-9]{9}",
        email in r"[a-z]{1,8}@[a-z]{1,8}\.eu",
    ) {
        let mut broken = Vec::new();
        if nuts.as_ref().is_some_and(|n| n.country_prefix() != country.as_str()) {
            broken.push("nutsCode");
        }
        if let Some(l) = &lau
            && (kind != ActorKind::Municipality || l.country_prefix() != country.as_str())
        {
            broken.push("lauCode");
        }
        let parts = ActorProfileParts {
            kind,
            name,
            country,
            nuts,
            lau,
            population,
            pic: Pic::parse(&pic).ok(),
            vat_number: VatNumber::parse(&format!("{country}{pic}")).ok(),
            wikidata_id: None,
            website: None,
            email: Email::parse(&email).ok(),
        };
        match ActorProfile::new(parts.clone()) {
            Ok(profile) => {
                prop_assert!(broken.is_empty(), "accepted although {:?}", broken);
                prop_assert_eq!(
                    profile.is_smaller_community(),
                    match kind {
                        ActorKind::Municipality => population.map(|p| p <= 150_000),
                        _ => Some(false),
                    }
                );
                prop_assert_eq!(profile.into_parts(), parts);
            }
            Err(e) => names_one_of(&e, &broken)?,
        }
    }

    #[test]
    fn actor_hierarchy(
        child in (small_id(), actor_kind(), country()),
        parent in (small_id(), actor_kind(), country()),
        ancestors in prop::collection::vec(small_id(), 0..4),
    ) {
        let node = |(id, kind, country)| HierarchyNode { id, kind, country };
        let (child, parent) = (node(child), node(parent));
        let cycle = parent.id == child.id || ancestors.contains(&child.id);
        let level_ok = match child.kind {
            ActorKind::Municipality => parent.kind == ActorKind::Region,
            ActorKind::Region => {
                matches!(parent.kind, ActorKind::Region | ActorKind::NationalAuthority)
            }
            _ => true,
        };
        let territorial = matches!(child.kind, ActorKind::Municipality | ActorKind::Region);
        let country_ok = !territorial || parent.country == child.country;
        match check_parent(child, parent, &ancestors) {
            Ok(()) => prop_assert!(!cycle && level_ok && country_ok),
            Err(e) => {
                prop_assert!(cycle || !level_ok || !country_ok);
                names(&e, "parentId")?;
            }
        }
    }

    // --- every code enum: from_code ----------------------------------------------------------

    #[test]
    fn codes_parse_only_as_written(raw in code_input()) {
        check_codes(&ActorKind::ALL, ActorKind::code, ActorKind::from_code, &raw)?;
        check_codes(&AccessRole::ALL, AccessRole::code, AccessRole::from_code, &raw)?;
        check_codes(PartnershipKind::ALL, PartnershipKind::code, PartnershipKind::from_code, &raw)?;
        check_codes(Theme::ALL, Theme::code, Theme::from_code, &raw)?;
        check_codes(GovernanceLevel::ALL, GovernanceLevel::code, GovernanceLevel::from_code, &raw)?;
        check_codes(
            PartnershipStatus::ALL,
            PartnershipStatus::code,
            PartnershipStatus::from_code,
            &raw,
        )?;
        check_codes(MemberRole::ALL, MemberRole::code, MemberRole::from_code, &raw)?;
        check_codes(
            AllocationStatus::ALL,
            AllocationStatus::code,
            AllocationStatus::from_code,
            &raw,
        )?;
        check_codes(PaymentKind::ALL, PaymentKind::code, PaymentKind::from_code, &raw)?;
        check_codes(BudgetKind::ALL, BudgetKind::code, BudgetKind::from_code, &raw)?;
        check_codes(FindingRule::ALL, FindingRule::code, FindingRule::from_code, &raw)?;
    }

    // --- partnership.rs -----------------------------------------------------------------------

    #[test]
    fn status_transitions(
        from in select(PartnershipStatus::ALL.to_vec()),
        to in select(PartnershipStatus::ALL.to_vec()),
        a_from in select(AllocationStatus::ALL.to_vec()),
        a_to in select(AllocationStatus::ALL.to_vec()),
    ) {
        use AllocationStatus::{Awarded, Cancelled, Closed, Rejected, Requested};
        use PartnershipStatus::{Active, Completed, Draft, Withdrawn};
        let allowed = [(Draft, Active), (Active, Completed), (Draft, Withdrawn), (Active, Withdrawn)];
        match from.transition(to) {
            Ok(next) => {
                prop_assert!(allowed.contains(&(from, to)));
                prop_assert_eq!(next, to);
                prop_assert!(!from.is_closed());
            }
            Err(e) => {
                prop_assert!(!allowed.contains(&(from, to)));
                names(&e, "status")?;
            }
        }
        let allowed = [
            (Requested, Awarded),
            (Requested, Rejected),
            (Requested, Cancelled),
            (Awarded, Closed),
            (Awarded, Cancelled),
        ];
        match a_from.transition(a_to) {
            Ok(next) => {
                prop_assert!(allowed.contains(&(a_from, a_to)));
                prop_assert_eq!(next, a_to);
            }
            Err(e) => {
                prop_assert!(!allowed.contains(&(a_from, a_to)));
                names(&e, "status")?;
            }
        }
    }

    #[test]
    fn unique_sets(
        themes in prop::collection::vec(select(Theme::ALL.to_vec()), 0..14),
        levels in prop::collection::vec(select(GovernanceLevel::ALL.to_vec()), 0..6),
        field in field_name(),
    ) {
        let distinct: BTreeSet<Theme> = themes.iter().copied().collect();
        match unique_set(&field, &themes, Theme::code) {
            Ok(set) => {
                prop_assert_eq!(set.len(), themes.len());
                prop_assert_eq!(set, distinct);
            }
            Err(e) => {
                prop_assert!(distinct.len() < themes.len());
                names(&e, &field)?;
                prop_assert!(e.message.contains("twice"));
            }
        }
        let distinct: BTreeSet<GovernanceLevel> = levels.iter().copied().collect();
        let result = unique_set(&field, &levels, GovernanceLevel::code);
        prop_assert_eq!(result.is_ok(), distinct.len() == levels.len());
    }

    #[test]
    fn partnership_details(
        title in text_input(),
        kind in select(PartnershipKind::ALL.to_vec()),
        themes in prop::collection::btree_set(select(Theme::ALL.to_vec()), 0..5),
        levels in prop::collection::btree_set(select(GovernanceLevel::ALL.to_vec()), 0..4),
        start in any_date(),
        end in prop::option::of(any_date()),
    ) {
        let mut broken = Vec::new();
        if !in_range(start) {
            broken.push("startDate");
        }
        if let Some(end) = end
            && (!in_range(end) || end < start)
        {
            broken.push("endDate");
        }
        let parts = PartnershipDetailsParts {
            title: title.clone(),
            description: title,
            kind,
            themes,
            governance_levels: levels,
            start_date: start,
            end_date: end,
        };
        match PartnershipDetails::new(parts.clone()) {
            Ok(details) => {
                prop_assert!(broken.is_empty(), "accepted although {:?}", broken);
                prop_assert_eq!(details.into_parts(), parts);
            }
            Err(e) => names_one_of(&e, &broken)?,
        }
    }

    // --- membership.rs ------------------------------------------------------------------------

    #[test]
    fn role_sets(roles in member_roles()) {
        let distinct: BTreeSet<MemberRole> = roles.iter().copied().collect();
        let valid = !roles.is_empty()
            && distinct.len() == roles.len()
            && !(distinct.contains(&MemberRole::Mentor) && distinct.contains(&MemberRole::Mentee));
        match RoleSet::parse(&roles) {
            Ok(set) => {
                prop_assert!(valid);
                prop_assert_eq!(set.iter().collect::<BTreeSet<_>>(), distinct);
                let stored = set.to_stored();
                prop_assert_eq!(RoleSet::from_stored(&stored), Some(set.clone()));
                for role in MemberRole::ALL {
                    prop_assert_eq!(set.contains(*role), roles.contains(role));
                }
            }
            Err(e) => {
                prop_assert!(!valid);
                names(&e, "roles")?;
            }
        }
    }

    #[test]
    fn role_sets_from_stored_text(
        raw in prop_oneof![
            code_input(),
            prop::collection::vec(code_input(), 0..5).prop_map(|v| v.join(",")),
            prop::collection::vec(select(MemberRole::ALL.to_vec()), 0..5)
                .prop_map(|v| v.iter().map(|r| r.code()).collect::<Vec<_>>().join(",")),
        ]
    ) {
        if let Some(set) = RoleSet::from_stored(&raw) {
            let codes: BTreeSet<&str> = raw.split(',').collect();
            prop_assert_eq!(codes.len(), raw.split(',').count(), "duplicates accepted");
            prop_assert_eq!(set.iter().map(MemberRole::code).collect::<BTreeSet<_>>(), codes);
            prop_assert_eq!(RoleSet::from_stored(&set.to_stored()), Some(set));
        }
    }

    #[test]
    fn membership_dates(joined in any_date(), left in prop::option::of(any_date())) {
        let mut broken = Vec::new();
        if !in_range(joined) {
            broken.push("joinedOn");
        }
        if let Some(left) = left
            && (!in_range(left) || left < joined)
        {
            broken.push("leftOn");
        }
        match check_membership_dates(joined, left) {
            Ok(()) => prop_assert!(broken.is_empty(), "accepted although {:?}", broken),
            Err(e) => names_one_of(&e, &broken)?,
        }
    }

    #[test]
    fn members_of_a_partnership(
        kind in select(PartnershipKind::ALL.to_vec()),
        status in select(PartnershipStatus::ALL.to_vec()),
        members in prop::collection::vec(role_set(), 0..6),
    ) {
        let count = |r: MemberRole| members.iter().filter(|m| m.contains(r)).count();
        let leads = count(MemberRole::Lead);
        let paired = count(MemberRole::Mentor) > 0 && count(MemberRole::Mentee) > 0;
        let valid = leads <= 1
            && (status != PartnershipStatus::Active
                || (leads == 1 && (kind != PartnershipKind::CityToCityMentoring || paired)));
        match check_members(kind, status, &members) {
            Ok(()) => prop_assert!(valid),
            Err(e) => {
                prop_assert!(!valid);
                names(&e, "roles")?;
            }
        }
    }

    // --- funding.rs ---------------------------------------------------------------------------

    #[test]
    fn ceiling_cases(
        raw in prop_oneof![
            text_input(),
            r" ?[A-Za-z_0-9\-]{0,70} ?",
            r"[A-Z][A-Z0-9_\x{c9}\x{17f}]{0,5}",
        ]
    ) {
        let case = raw.trim();
        let expected = (1..=64).contains(&case.len())
            && case.starts_with(|c: char| c.is_ascii_uppercase())
            && case.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        match CeilingCase::parse(&raw) {
            Ok(c) => {
                prop_assert!(expected);
                prop_assert_eq!(c.as_str(), case);
                prop_assert_eq!(CeilingCase::parse(c.as_str()), Ok(c.clone()));
            }
            Err(e) => {
                prop_assert!(!expected);
                names(&e, "ceilingCase")?;
            }
        }
    }

    #[test]
    fn programme_codes(
        raw in prop_oneof![
            text_input(),
            r" ?[0-9A-Za-z]{0,32} ?",
            r"20[0-9]{2}[A-Z]{2}[0-9]{2}[A-Z]{4}[0-9]{3}",
            r"[0-9A-Z\x{c9}\x{17f}\x{212a}\x{660}-\x{669}\-]{2,5}",
        ]
    ) {
        let code = raw.trim().to_ascii_uppercase();
        let expected = (3..=30).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric());
        match parse_programme_code(&raw) {
            Ok(c) => {
                prop_assert!(expected);
                prop_assert_eq!(&c, &code);
                prop_assert_eq!(parse_programme_code(&c), Ok(c.clone()));
            }
            Err(e) => {
                prop_assert!(!expected);
                names(&e, "code")?;
            }
        }
    }

    #[test]
    fn allocation_terms_respect_the_ceiling(
        eligible in euros(),
        r in rate(),
        delta in -3i64..=3,
        eu_raw in cents(),
        near_ceiling in any::<bool>(),
        national in prop_oneof![Just(0i64), cents()],
        case in ceiling_case(),
        status in select(AllocationStatus::ALL.to_vec()),
        decision_date in prop::option::of(any_date()),
        reference in prop::option::of(text_input()),
    ) {
        // Half the time the EU contribution sits within a few cents of the ceiling.
        let ceiling_cents = i128::from(r.basis_points()) * i128::from(eligible.cents()) / 10_000;
        let eu_cents = if near_ceiling {
            i64::try_from(ceiling_cents).expect("fits").saturating_add(delta).clamp(0, MAX_CENTS)
        } else {
            eu_raw
        };
        let eu = Euros::from_cents(eu_cents).expect("in range");
        let national = Euros::from_cents(national).expect("in range");
        let (e, n, c, bp) = (
            i128::from(eu.cents()),
            i128::from(national.cents()),
            i128::from(eligible.cents()),
            i128::from(r.basis_points()),
        );
        let mut broken = Vec::new();
        if decision_date.is_some_and(|d| !in_range(d)) {
            broken.push("decisionDate");
        }
        if c == 0 {
            broken.push("eligibleCost");
        }
        if e + n > c {
            broken.push("nationalContribution");
        }
        if e * 10_000 > bp * c {
            broken.push("euContribution");
        }
        match (status, decision_date) {
            (AllocationStatus::Awarded | AllocationStatus::Rejected, None)
            | (AllocationStatus::Requested, Some(_)) => broken.push("decisionDate"),
            _ => {}
        }
        let parts = AllocationTermsParts {
            eligible_cost: eligible,
            eu_contribution: eu,
            national_contribution: national,
            ceiling_case: case,
            ceiling: r,
            status,
            decision_date,
            reference,
        };
        match AllocationTerms::new(parts.clone()) {
            Ok(terms) => {
                prop_assert!(broken.is_empty(), "accepted although {:?}", broken);
                // The rule itself, in integer arithmetic: EU <= ceiling x eligible.
                prop_assert!(e * 10_000 <= bp * c);
                prop_assert!(e + n <= c);
                prop_assert!(terms.co_financing_rate() <= r.to_decimal());
                prop_assert_eq!(terms.into_parts(), parts);
            }
            Err(err) => names_one_of(&err, &broken)?,
        }
    }

    #[test]
    fn programmes_and_their_cases(
        code in "[0-9A-Z]{3,15}",
        country in country(),
        nuts in prop::option::of(nuts()),
        category in prop::option::of(ceiling_case()),
        claimed in prop::option::of(ceiling_case()),
        envelope in euros(),
    ) {
        let parts = ProgrammeParts {
            code,
            title: "Programme".into(),
            stream_id: StreamId::from_uuid(uuid::Uuid::nil()),
            managing_authority: ActorId::from_uuid(uuid::Uuid::nil()),
            country,
            nuts: nuts.clone(),
            category: category.clone(),
            envelope,
        };
        let abroad = nuts.as_ref().is_some_and(|n| n.country_prefix() != country.as_str());
        match ProgrammeDetails::new(parts.clone()) {
            Ok(details) => {
                prop_assert!(!abroad);
                prop_assert_eq!(details.parts(), &parts);
            }
            Err(e) => {
                prop_assert!(abroad);
                names(&e, "nutsCode")?;
            }
        }
        match case_for(&parts, claimed.clone()) {
            Ok(case) => match (&category, &claimed) {
                (Some(cat), Some(cl)) => {
                    prop_assert_eq!(cat, cl);
                    prop_assert_eq!(&case, cat);
                }
                (Some(cat), None) => prop_assert_eq!(&case, cat),
                (None, Some(cl)) => prop_assert_eq!(&case, cl),
                (None, None) => prop_assert!(false, "a case out of nothing"),
            },
            Err(e) => {
                prop_assert!(
                    matches!((&category, &claimed), (None, None))
                        || matches!((&category, &claimed), (Some(a), Some(b)) if a != b)
                );
                names(&e, "ceilingCase")?;
            }
        }
    }

    #[test]
    fn envelopes(
        envelope in euros(),
        awarded_after in prop_oneof![
            any::<i64>(),
            cents(),
            select(vec![i64::MIN, i64::MAX, -1, MAX_CENTS + 1]),
        ],
    ) {
        match check_envelope(envelope, awarded_after) {
            Ok(()) => prop_assert!(awarded_after <= envelope.cents()),
            Err(e) => {
                prop_assert!(awarded_after > envelope.cents());
                names(&e, "euContribution")?;
            }
        }
    }

    #[test]
    fn ledger_entries(
        kind in select(PaymentKind::ALL.to_vec()),
        amount in euros(),
        status in select(AllocationStatus::ALL.to_vec()),
        award in euros(),
        paid_before in prop_oneof![
            0..=MAX_CENTS,
            -MAX_CENTS..=2 * MAX_CENTS,
            0i64..10_000,
            any::<i64>(),
            select(vec![i64::MIN, i64::MIN + 1, i64::MAX - 1, i64::MAX]),
        ],
    ) {
        let signed = if kind == PaymentKind::Recovery {
            -i128::from(amount.cents())
        } else {
            i128::from(amount.cents())
        };
        let after = i128::from(paid_before) + signed;
        let admitted = match kind {
            PaymentKind::Recovery => status.holds_award() || status == AllocationStatus::Cancelled,
            _ => status == AllocationStatus::Awarded,
        };
        let mut broken = Vec::new();
        if amount.is_zero() || after < 0 || after > i128::from(award.cents()) {
            broken.push("amount");
        }
        if !admitted {
            broken.push("kind");
        }
        match ledger_entry(kind, amount, status, award, paid_before) {
            Ok(entry) => {
                prop_assert!(broken.is_empty(), "accepted although {:?}", broken);
                prop_assert_eq!(i128::from(entry), signed);
                prop_assert!((0..=i128::from(award.cents())).contains(&after));
            }
            Err(e) => names_one_of(&e, &broken)?,
        }
    }

    // --- ids.rs: no parsers; the typed ids keep the UUID they are given -----------------------

    #[test]
    fn ids_keep_their_uuid(n in any::<u128>()) {
        let uuid = uuid::Uuid::from_u128(n);
        prop_assert_eq!(ActorId::from_uuid(uuid).as_uuid(), uuid);
        prop_assert_eq!(ActorId::from_uuid(uuid).to_string(), uuid.to_string());
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions: bugs the properties found, kept with their minimal input.
// ---------------------------------------------------------------------------------------------

/// `ledger_entry` used to add `paid_before + signed` in plain `i64`: with a paid total at the
/// ends of `i64` it panicked ("attempt to add with overflow") in debug builds and wrapped in
/// release builds. It must refuse instead.
#[test]
fn ledger_entry_with_an_extreme_paid_total_does_not_panic() {
    let cent = Euros::from_cents(1).expect("one cent");
    let award = Euros::from_cents(100).expect("one euro");
    let payment = std::panic::catch_unwind(|| {
        ledger_entry(
            PaymentKind::Interim,
            cent,
            AllocationStatus::Awarded,
            award,
            i64::MAX,
        )
    });
    assert!(
        matches!(&payment, Ok(Err(e)) if e.field == "amount"),
        "a payment on a paid total of i64::MAX: {payment:?}"
    );
    let recovery = std::panic::catch_unwind(|| {
        ledger_entry(
            PaymentKind::Recovery,
            cent,
            AllocationStatus::Awarded,
            award,
            i64::MIN,
        )
    });
    assert!(
        matches!(&recovery, Ok(Err(e)) if e.field == "amount"),
        "a recovery on a paid total of i64::MIN: {recovery:?}"
    );
}
