//! Models of the two domains not every member runs: Volkshochschulen and
//! theatres. Which members run one is decided once per member from its kind
//! and size ([`runs_adult_education`], [`runs_theatre`]); the figures follow
//! the national totals and ranges of `docs/sources/adult_education-die.md`
//! and `docs/sources/theatre-buehnenverein.md`.

use rand::RngExt;
use vergleichsring_catalog::MemberKind;

use crate::draw::{Rng, log_normal, normal, tenth, uniform, whole};
use crate::figures::{RowCtx, Year};

/// The chance that a member runs a Volkshochschule: every city and most
/// districts and larger towns do; small municipalities belong to the VHS
/// of their district or a joint authority.
pub(crate) fn runs_adult_education(kind: MemberKind, population: f64) -> f64 {
    match kind {
        MemberKind::KreisfreieStadt => 1.0,
        MemberKind::Landkreis => 0.8,
        MemberKind::KreisangehoerigeGemeinde if population >= 20_000.0 => 0.75,
        MemberKind::KreisangehoerigeGemeinde if population >= 10_000.0 => 0.35,
        MemberKind::KreisangehoerigeGemeinde => 0.08,
    }
}

/// The chance that a member runs a public theatre with its own ensemble:
/// about 140 in Germany, nearly all in larger cities, a few Landesbühnen
/// and joint-authority theatres in districts and towns.
pub(crate) fn runs_theatre(kind: MemberKind, population: f64) -> f64 {
    match kind {
        _ if population >= 100_000.0 && kind != MemberKind::Landkreis => 0.9,
        MemberKind::KreisfreieStadt => 0.6,
        MemberKind::Landkreis => 0.06,
        MemberKind::KreisangehoerigeGemeinde if population >= 50_000.0 => 0.35,
        MemberKind::KreisangehoerigeGemeinde if population >= 20_000.0 => 0.08,
        MemberKind::KreisangehoerigeGemeinde => 0.01,
    }
}

/// The share of normal activity left in a year of the pandemic, for
/// Volkshochschulen (calendar years) and theatres (seasons ending in the
/// year: 2019/20 lost its spring, 2020/21 was nearly closed, 2021/22 played
/// to half the usual audience).
fn closed(year: i32, shares: [f64; 3]) -> f64 {
    match year {
        2020 => shares[0],
        2021 => shares[1],
        2022 => shares[2],
        _ => 1.0,
    }
}

/// Volkshochschulen, after the DIE's Volkshochschul-Statistik: about 170
/// teaching hours and 60 enrolments per 1,000 inhabitants, 29 hours and
/// 10.5 enrolments per course, a third of the income from fees.
pub(crate) fn adult_education(b: &mut Rng, y: &mut Rng, ctx: &RowCtx) -> Vec<f64> {
    let hours_per_1000 = log_normal(b, 170.0, 0.5, 50.0, 600.0);
    let hours_per_course = log_normal(b, 29.0, 0.2, 15.0, 60.0);
    let enrolments_per_course = log_normal(b, 10.5, 0.15, 6.0, 18.0);
    let language_share = uniform(b, 0.25, 0.65);
    let events_per_1000 = log_normal(b, 1.0, 0.6, 0.1, 6.0);
    let per_event = log_normal(b, 30.0, 0.35, 8.0, 120.0);
    let fte_per_10000 = log_normal(b, 1.3, 0.35, 0.5, 4.0);
    let pedagogical = uniform(b, 0.3, 0.55);
    let cost_per_fte = log_normal(b, 60_000.0, 0.08, 45_000.0, 80_000.0);
    let cost_per_hour = log_normal(b, 80.0, 0.25, 40.0, 160.0);
    let fees_teachers = uniform(b, 0.25, 0.38);
    let fee_share = log_normal(b, 0.35, 0.35, 0.12, 0.70);
    let state_share = uniform(b, 0.03, 0.2);
    let other_share = uniform(b, 0.05, 0.35).min(0.9 - fee_share - state_share);
    let f = Year::draw(b, y, ctx);

    let pop = ctx.population;
    let normal_hours = pop * hours_per_1000 / 1_000.0 * f.act;
    let teaching_hours = whole(normal_hours * closed(ctx.year, [0.7, 0.55, 0.85])).max(30.0);
    let courses = whole(teaching_hours / hours_per_course).max(1.0);
    let per_course = if f.odd { 30.0 } else { enrolments_per_course };
    let enrolments =
        whole(courses * per_course * closed(ctx.year, [0.93, 0.82, 0.95])).max(courses);
    let single_events = whole(pop * events_per_1000 / 1_000.0 * closed(ctx.year, [0.6, 0.5, 0.8]));
    let staff_fte = tenth(pop * fte_per_10000 / 10_000.0 * f.cap);
    let expenditure_staff = whole(staff_fte * cost_per_fte * f.cost);
    // The total follows normal teaching, since staff and rooms are kept
    // through a closure; staff never take more than 60 % of it.
    let expenditure_total =
        whole((normal_hours * cost_per_hour * f.cost).max(expenditure_staff / 0.6));
    let income_fees = whole(expenditure_total * fee_share * closed(ctx.year, [0.75, 0.6, 0.9]));
    let subsidy_state = whole(expenditure_total * state_share);
    let income_other = whole(expenditure_total * other_share.max(0.0));
    let carry_over = 1.0 + 0.02 * normal(y);
    let subsidy_municipal =
        whole(expenditure_total * carry_over - income_fees - subsidy_state - income_other);
    vec![
        pop,
        courses,
        teaching_hours,
        enrolments,
        whole(teaching_hours * language_share),
        single_events,
        whole(single_events * per_event),
        staff_fte,
        tenth(staff_fte * pedagogical).min(staff_fte),
        income_fees,
        subsidy_municipal,
        subsidy_state,
        income_other,
        expenditure_total,
        expenditure_staff,
        whole(expenditure_total * fees_teachers),
    ]
}

/// A theatre's stage: its seats, venues and how full a performance is.
struct Stage {
    venues: f64,
    seats: f64,
    /// The places offered at one performance.
    per_performance: f64,
    utilisation: f64,
}

impl Stage {
    /// Draws the stage of a theatre from the member's base stream: its
    /// seats follow the audience it normally plays to, at 40 to 400
    /// performances a venue and season, so seats, performances and venues
    /// always fit together.
    fn draw(b: &mut Rng, ctx: &RowCtx, visits_per_1000: f64) -> Stage {
        let venues = (uniform(b, 1.0, 2.5) + ctx.base_population / 250_000.0)
            .floor()
            .clamp(1.0, 8.0);
        let per_venue = log_normal(b, 150.0, 0.4, 40.0, 400.0);
        let offered_share = uniform(b, 0.5, 0.95);
        let utilisation = uniform(b, 0.6, 0.9);
        let offered = ctx.base_population * visits_per_1000 / 1_000.0 / utilisation;
        let per_performance = (offered / (per_venue * venues)).max(60.0);
        Stage {
            venues,
            seats: whole(per_performance / offered_share * venues),
            per_performance,
            utilisation,
        }
    }
}

/// Public theatres, after the Deutscher Bühnenverein's Theaterstatistik:
/// about 800 visits per 1,000 inhabitants of a theatre town, three in four
/// seats sold, 140 EUR spent and 120 EUR of public money per visit, an
/// own-income ratio near 17 % and three quarters of the cost for staff.
pub(crate) fn theatre(b: &mut Rng, y: &mut Rng, ctx: &RowCtx) -> Vec<f64> {
    let visits_per_1000 = log_normal(b, 800.0, 0.6, 150.0, 4_000.0);
    let stage = Stage::draw(b, ctx, visits_per_1000);
    let visits_per_fte = log_normal(b, 600.0, 0.35, 250.0, 2_000.0);
    let cost_per_fte = log_normal(b, 62_000.0, 0.08, 48_000.0, 80_000.0);
    let staff_share = uniform(b, 0.68, 0.80);
    let own_ratio = log_normal(b, 0.17, 0.25, 0.08, 0.35);
    let ticket_share = uniform(b, 0.6, 0.85);
    let state_share = if b.random_bool(0.1) {
        0.0
    } else {
        uniform(b, 0.15, 0.6)
    };
    let other_share = uniform(b, 0.0, 0.03);
    let touring_share = uniform(b, 0.0, 0.25);
    let f = Year::draw(b, y, ctx);

    let pop = ctx.population;
    let normal_visits = ctx.base_population * visits_per_1000 / 1_000.0 * f.act;
    let visits = whole(normal_visits * closed(ctx.year, [0.75, 0.2, 0.5])).max(1.0);
    let utilisation = if f.odd {
        1.05
    } else {
        stage.utilisation * (1.0 + 0.03 * normal(y))
    };
    let seats_offered = whole(visits / utilisation);
    let performances = (seats_offered / stage.per_performance).ceil().max(1.0);
    let performances_touring = whole(performances * touring_share);
    let visits_touring = whole(performances_touring * visits / performances * uniform(y, 0.6, 1.2));
    // Staff and cost follow the theatre's normal audience, not the year's.
    let staff_fte = tenth(normal_visits / visits_per_fte * f.cap);
    let expenditure_staff = whole(staff_fte * cost_per_fte * f.cost);
    let expenditure_total = whole(expenditure_staff / staff_share);
    let income_own = whole(expenditure_total * own_ratio * closed(ctx.year, [0.8, 0.35, 0.7]));
    let public = expenditure_total * (1.0 + 0.02 * normal(y)) - income_own;
    let subsidy_state = whole(public * state_share);
    let subsidy_other_public = whole(public * other_share);
    vec![
        pop,
        stage.seats,
        seats_offered,
        performances,
        performances_touring,
        visits,
        visits_touring,
        staff_fte,
        whole(staff_fte * uniform(b, 1.08, 1.2)),
        expenditure_total,
        expenditure_staff,
        income_own,
        whole(income_own * ticket_share),
        whole(public - subsidy_state - subsidy_other_public),
        subsidy_state,
        subsidy_other_public,
        stage.venues,
    ]
}
