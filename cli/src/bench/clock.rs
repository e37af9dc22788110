//! The job timeline's times (`2026-12-07T13:44:41.498Z`, RFC 3339 in UTC with milliseconds, as the gateway
//! writes them) as milliseconds since the Unix epoch, so that the report can subtract them.

/// Milliseconds since the Unix epoch of `text`, an RFC 3339 time in UTC (`Z`), with or without a fraction;
/// `None` for anything else.
#[must_use]
pub fn millis(text: &str) -> Option<i64> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let mut date = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut clock = clock.splitn(3, ':').map(str::parse::<i64>);
    let (hour, minute, second) = (
        clock.next()?.ok()?,
        clock.next()?.ok()?,
        clock.next()?.ok()?,
    );
    let millis = match fraction.len() {
        0 => 0,
        1..=9 if fraction.bytes().all(|byte| byte.is_ascii_digit()) => {
            let digits: String = fraction.chars().chain("00".chars()).take(3).collect();
            digits.parse::<i64>().ok()?
        }
        _ => return None,
    };
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..61).contains(&second);
    valid.then(|| {
        days_from_civil(year, month, day) * 86_400_000
            + ((hour * 60 + minute) * 60 + second) * 1000
            + millis
    })
}

/// Days from the Unix epoch to `year-month-day` (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_times_become_milliseconds() {
        assert_eq!(millis("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(millis("2023-11-14T22:13:20.120Z"), Some(1_700_000_000_120));
        assert_eq!(millis("2023-11-14T22:13:20Z"), Some(1_700_000_000_000));
        assert_eq!(millis("2023-11-14T22:13:20.1Z"), Some(1_700_000_000_100));
        assert_eq!(millis("2000-02-29T12:00:00.000Z"), Some(951_825_600_000));
        assert_eq!(millis("1969-12-31T23:59:59.999Z"), Some(-1));
        for bad in [
            "",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-13-01T00:00:00Z",
            "x-y-zT1:2:3Z",
        ] {
            assert_eq!(millis(bad), None, "{bad}");
        }
    }
}
