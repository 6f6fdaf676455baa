//! The basic figures of one member, domain and year.
//!
//! Each model first draws per-capita rates from a stream that depends only on the
//! member and domain, so a member keeps its profile across years, and then derives
//! the basic figures for one year from those rates, the year's population and a
//! small drift. Because the figures come from the rates, the key figures computed
//! from them land in the typical ranges the rates were drawn from.

use rand::RngExt;
use vergleichsring_catalog::MemberKind;

use crate::draw::{Rng, log_normal, normal, tenth, uniform, whole};
use crate::services;

/// The reference year of the drift; figures of other years move away from it.
pub(crate) const BASE_YEAR: i32 = 2020;

/// What a model knows about the member and the year.
pub(crate) struct RowCtx {
    /// The member's population in the base year, which sets its size profile.
    pub base_population: f64,
    /// The member's population in this year.
    pub population: f64,
    /// The year.
    pub year: i32,
}

/// A model computes the values of a domain's basic figures, in catalogue order,
/// from the member's base stream and the year's stream.
pub(crate) type Model = fn(&mut Rng, &mut Rng, &RowCtx) -> Vec<f64>;

/// A domain: its id, basic figures in catalogue order and the model filling them.
pub(crate) struct DomainSpec {
    /// The catalogue id of the domain.
    pub id: &'static str,
    /// Basic figure ids in catalogue order.
    pub figures: &'static [&'static str],
    /// Figures the catalogue requires; all others may be left null.
    pub required: &'static [&'static str],
    /// The model.
    pub model: Model,
    /// The chance that a member of this kind and population (in the base
    /// year) runs the service at all; decided once per member.
    pub runs: fn(MemberKind, f64) -> f64,
}

/// Every member runs a library, a museum and a music school.
fn everyone(_: MemberKind, _: f64) -> f64 {
    1.0
}

/// The five domains, in the order their files are generated.
#[rustfmt::skip]
pub(crate) const DOMAINS: [DomainSpec; 5] = [
    DomainSpec {
        id: "library",
        figures: &[
            "population", "service_points", "public_area_sqm", "opening_hours", "active_users",
            "visits", "virtual_visits", "stock", "acquisitions", "loans", "e_loans", "events",
            "staff_fte", "expenditure_total", "expenditure_staff", "expenditure_media", "income",
            "e_media_uses",
        ],
        required: &[
            "population", "service_points", "opening_hours", "visits", "stock", "loans",
            "staff_fte", "expenditure_total",
        ],
        model: library,
        runs: everyone,
    },
    DomainSpec {
        id: "museum",
        figures: &[
            "population", "visits", "visits_paying", "visits_free", "opening_days",
            "opening_hours", "exhibition_area_sqm", "special_exhibitions", "education_events",
            "education_participants", "objects", "objects_digitised", "staff_fte",
            "expenditure_total", "expenditure_staff", "income_admission", "income_other",
        ],
        required: &[
            "population", "visits", "opening_days", "staff_fte", "expenditure_total",
            "income_admission",
        ],
        model: museum,
        runs: everyone,
    },
    DomainSpec {
        id: "music_school",
        figures: &[
            "population", "population_u18", "students", "students_u18", "enrolments",
            "weekly_hours", "teachers", "teachers_employed", "teacher_fte", "waiting_list",
            "expenditure_total", "expenditure_teaching", "income_fees", "subsidy_municipal",
            "subsidy_state", "income_other", "subsidy_district",
        ],
        required: &[
            "population", "students", "weekly_hours", "teachers", "expenditure_total",
            "income_fees",
        ],
        model: music_school,
        runs: everyone,
    },
    DomainSpec {
        id: "adult_education",
        figures: &[
            "population", "courses", "teaching_hours", "enrolments", "teaching_hours_languages",
            "single_events", "single_event_participations", "staff_fte", "staff_pedagogical_fte",
            "income_fees", "subsidy_municipal", "subsidy_state", "income_other",
            "expenditure_total", "expenditure_staff", "expenditure_fees_teachers",
        ],
        required: &[
            "population", "courses", "teaching_hours", "enrolments", "staff_fte", "income_fees",
            "expenditure_total",
        ],
        model: services::adult_education,
        runs: services::runs_adult_education,
    },
    DomainSpec {
        id: "theatre",
        figures: &[
            "population", "seats", "seats_offered", "performances", "performances_touring",
            "visits", "visits_touring", "staff_fte", "staff_headcount", "expenditure_total",
            "expenditure_staff", "income_own", "income_tickets", "subsidy_municipal",
            "subsidy_state", "subsidy_other_public", "venues",
        ],
        required: &[
            "population", "seats", "performances", "visits", "staff_fte", "expenditure_total",
            "expenditure_staff", "income_own", "subsidy_municipal", "subsidy_state",
        ],
        model: services::theatre,
        runs: services::runs_theatre,
    },
];

/// The year's multipliers on a member's base rates.
pub(crate) struct Year {
    /// Use (visits, loans, students): a trend of about +1 % a year plus 3 % noise.
    pub act: f64,
    /// Prices and wages: about +2.5 % a year plus 1.5 % noise.
    pub cost: f64,
    /// Capacity (stock, staff, space): nearly constant.
    pub cap: f64,
    /// Whether this row carries one of the rare oddities that trigger a warning rule.
    pub odd: bool,
}

impl Year {
    /// Draws the member's trend from the base stream and the year's noise from the
    /// year stream; the trend draw must come at the same place in every year.
    pub(crate) fn draw(base: &mut Rng, year: &mut Rng, ctx: &RowCtx) -> Year {
        let t = f64::from(ctx.year - BASE_YEAR);
        let trend = 0.01 + 0.005 * normal(base);
        Year {
            act: (trend * t + 0.03 * normal(year)).exp(),
            cost: (0.025 * t + 0.015 * normal(year)).exp(),
            cap: (0.005 * t + 0.01 * normal(year)).exp(),
            odd: year.random_bool(0.01),
        }
    }
}

/// The share of normal use left in the pandemic years 2020 and 2021.
fn pandemic(year: i32, in_2020: f64, in_2021: f64) -> f64 {
    match year {
        2020 => in_2020,
        2021 => in_2021,
        _ => 1.0,
    }
}

/// Public libraries.
fn library(b: &mut Rng, y: &mut Rng, ctx: &RowCtx) -> Vec<f64> {
    // Smaller towns keep more media per inhabitant than cities.
    let size = (ctx.base_population / 30_000.0).ln();
    let media_per_capita = log_normal(b, 1.3 * (-0.1 * size).exp(), 0.3, 0.5, 3.0);
    let turnover = log_normal(b, 3.0, 0.3, 1.5, 6.0);
    let visits_per_capita = log_normal(b, 1.6, 0.35, 0.5, 4.0);
    let active_share = log_normal(b, 0.10, 0.3, 0.05, 0.20);
    let renewal = log_normal(b, 0.09, 0.3, 0.05, 0.18);
    let visits_per_hour = log_normal(b, 45.0, 0.35, 20.0, 150.0);
    let area_per_1000 = log_normal(b, 25.0, 0.35, 10.0, 60.0);
    let fte_per_10000 = log_normal(b, 2.0, 0.3, 1.0, 4.0);
    let cost_per_fte = log_normal(b, 60_000.0, 0.08, 45_000.0, 80_000.0);
    let media_spend_per_capita = log_normal(b, 1.8, 0.35, 0.8, 4.0);
    let other_cost_share = uniform(b, 0.15, 0.45);
    let cost_recovery = log_normal(b, 0.07, 0.35, 0.03, 0.15);
    let e_share = uniform(b, 0.10, 0.20);
    let virtual_per_visit = log_normal(b, 1.0, 0.5, 0.2, 5.0);
    let events_per_1000 = log_normal(b, 2.5, 0.4, 0.5, 10.0);
    let f = Year::draw(b, y, ctx);

    let pop = ctx.population;
    let service_points = whole(pop / 40_000.0).max(1.0);
    let stock = whole(pop * media_per_capita * f.cap);
    let normal_visits = pop * visits_per_capita * f.act;
    let visits = whole(normal_visits * pandemic(ctx.year, 0.65, 0.75));
    let normal_loans = stock * turnover * f.act;
    let mut loans = whole(normal_loans * dbs_2025(ctx.year) * pandemic(ctx.year, 0.65, 0.75));
    // Closed branches lent digitally instead, so e-loans rose in the pandemic.
    let e_loans = whole(normal_loans * e_share * pandemic(ctx.year, 1.3, 1.2));
    // Small libraries open few hours; the bounds keep each site between about 6
    // and 50 hours a week.
    let hours = (pop * visits_per_capita / visits_per_hour)
        .clamp(300.0 * service_points, 2_600.0 * service_points);
    let opening_hours = whole(hours * f.cap * pandemic(ctx.year, 0.8, 0.9));
    let mut active_users = whole(pop * active_share * f.act);
    if f.odd {
        // Real returns occasionally count renewals twice or all card holders.
        if y.random_bool(0.5) {
            loans = whole(16.0 * stock);
        } else {
            active_users = whole(0.45 * pop);
        }
    }
    let staff_fte = tenth(pop * fte_per_10000 / 10_000.0 * f.cap);
    let expenditure_staff = whole(staff_fte * cost_per_fte * f.cost);
    let expenditure_media = whole(pop * media_spend_per_capita * f.cost);
    // The total is built from its parts, so the parts can never exceed it.
    let expenditure_total = expenditure_staff
        + expenditure_media
        + whole((expenditure_staff + expenditure_media) * other_cost_share);
    vec![
        pop,
        service_points,
        whole(pop * area_per_1000 / 1_000.0),
        opening_hours,
        active_users,
        visits,
        asked(ctx.year <= 2024, whole(normal_visits * virtual_per_visit)),
        stock,
        whole(stock * renewal),
        loans,
        e_loans,
        whole(pop * events_per_1000 / 1_000.0 * f.act * pandemic(ctx.year, 0.5, 0.7)),
        staff_fte,
        expenditure_total,
        expenditure_staff,
        expenditure_media,
        whole(expenditure_total * cost_recovery * pandemic(ctx.year, 0.7, 0.8)),
        asked(
            ctx.year >= 2025,
            whole(e_loans * 1.5 + normal_visits * virtual_per_visit * 0.1),
        ),
    ]
}

/// A value where the catalogue asks the figure that year, else NaN (not
/// asked): the library's virtual visits end with 2024, its loan-like uses
/// of e-media start in 2025.
fn asked(is_asked: bool, value: f64) -> f64 {
    if is_asked { value } else { f64::NAN }
}

/// The share of loans counted from 2025, when the catalogue counts them as
/// the DBS does, without the automatic renewals (about one loan in seven
/// before): the series breaks there.
fn dbs_2025(year: i32) -> f64 {
    if year >= 2025 { 0.85 } else { 1.0 }
}

/// Municipal museums.
fn museum(b: &mut Rng, y: &mut Rng, ctx: &RowCtx) -> Vec<f64> {
    // Visits per inhabitant are heavy-tailed: a town with a famous museum draws
    // far more than its own population.
    let visits_per_1000 = log_normal(b, 300.0, 1.0, 50.0, 3_000.0);
    let opening_days = whole(uniform(b, 250.0, 330.0));
    let hours_per_day = uniform(b, 6.0, 9.0);
    let free_share = uniform(b, 0.1, 0.7);
    let price = log_normal(b, 5.0, 0.35, 2.0, 12.0);
    let visits_per_fte = log_normal(b, 3_500.0, 0.5, 1_000.0, 20_000.0);
    let cost_per_fte = log_normal(b, 55_000.0, 0.08, 42_000.0, 75_000.0);
    let staff_share = uniform(b, 0.45, 0.72);
    let other_income_share = uniform(b, 0.02, 0.10);
    let visits_per_sqm = log_normal(b, 15.0, 0.6, 2.0, 100.0);
    let objects = log_normal(b, 20_000.0, 1.0, 500.0, 2_000_000.0);
    let digitised = uniform(b, 0.0, 0.5);
    let special_base = uniform(b, 0.5, 1.5);
    let education_per_visit = log_normal(b, 0.004, 0.4, 0.001, 0.02);
    let participants_per_event = uniform(b, 10.0, 20.0);
    let f = Year::draw(b, y, ctx);

    let t = f64::from(ctx.year - BASE_YEAR);
    // Staff, space and cost follow the museum's normal attendance, not the year's.
    let normal_visits = ctx.population * visits_per_1000 / 1_000.0 * f.act;
    let visits = whole(normal_visits * pandemic(ctx.year, 0.45, 0.6)).max(1.0);
    let visits_paying = whole(visits * (1.0 - free_share));
    let days = whole(opening_days * pandemic(ctx.year, 0.7, 0.8)).min(366.0);
    let per_day = if f.odd { 15.0 } else { hours_per_day };
    let staff_fte = tenth(normal_visits / visits_per_fte * f.cap);
    let expenditure_staff = whole(staff_fte * cost_per_fte * f.cost);
    let expenditure_total = whole(expenditure_staff / staff_share);
    // Admission never covers more than a third of the cost, as in real museums.
    let income_admission = whole((visits_paying * price).min(expenditure_total / 3.0));
    let objects = whole(objects * (0.01 * t).exp());
    let special = whole(special_base * (1.0 + normal_visits / 25_000.0).sqrt());
    let education_events =
        whole(normal_visits * education_per_visit * pandemic(ctx.year, 0.5, 0.7));
    vec![
        ctx.population,
        visits,
        visits_paying,
        visits - visits_paying,
        days,
        whole(days * per_day),
        whole(normal_visits / visits_per_sqm).max(20.0),
        special,
        education_events,
        whole(education_events * participants_per_event),
        objects,
        whole(objects * (digitised + 0.03 * t).clamp(0.0, 1.0)),
        staff_fte,
        expenditure_total,
        expenditure_staff,
        income_admission,
        whole(expenditure_total * other_income_share),
    ]
}

/// Municipal music schools.
fn music_school(b: &mut Rng, y: &mut Rng, ctx: &RowCtx) -> Vec<f64> {
    let size = (ctx.base_population / 30_000.0).ln();
    let students_per_1000 = log_normal(b, 18.0 * (-0.05 * size).exp(), 0.35, 8.0, 40.0);
    let u18_population_share = log_normal(b, 0.17, 0.08, 0.13, 0.21);
    let u18_student_share = uniform(b, 0.65, 0.85);
    let students_per_hour = log_normal(b, 3.3, 0.2, 2.0, 5.0);
    let cost_per_hour = log_normal(b, 2_600.0, 0.12, 2_000.0, 3_200.0);
    let fee_share = log_normal(b, 0.40, 0.22, 0.25, 0.60);
    let state_share = uniform(b, 0.02, 0.12);
    let other_share = uniform(b, 0.01, 0.05);
    let employed_share = uniform(b, 0.2, 0.8);
    let teaching_share = uniform(b, 0.70, 0.90);
    let enrolments_per_student = uniform(b, 1.1, 1.3);
    let waiting_share = uniform(b, 0.0, 0.2);
    let f = Year::draw(b, y, ctx);

    let pop = ctx.population;
    let normal_students = pop * students_per_1000 / 1_000.0 * f.act;
    let students = if f.odd {
        // A few schools count every participant of school cooperations.
        whole(0.065 * pop)
    } else {
        whole(normal_students * pandemic(ctx.year, 1.0, 0.93)).max(1.0)
    };
    // Lessons were kept up in the pandemic, so teaching follows normal demand.
    let weekly_hours = whole(normal_students / students_per_hour).max(1.0);
    let teachers = whole(weekly_hours / 12.0).max(1.0);
    let expenditure_total = whole(weekly_hours * cost_per_hour * f.cost);
    let income_fees = whole(expenditure_total * fee_share);
    let subsidy_state = whole(expenditure_total * state_share);
    let income_other = whole(expenditure_total * other_share);
    // A Kreis co-funds about one school in three; drawn after the year's
    // multipliers so the member's other figures stay as they were.
    let district_share = if b.random_bool(0.3) {
        uniform(b, 0.02, 0.15)
    } else {
        0.0
    };
    let subsidy_district = whole(expenditure_total * district_share);
    // The municipality covers the rest, give or take a little carry-over.
    let carry_over = 1.0 + 0.004 * normal(y);
    let subsidy_municipal = whole(
        expenditure_total * carry_over
            - income_fees
            - subsidy_state
            - income_other
            - subsidy_district,
    );
    vec![
        pop,
        whole(pop * u18_population_share),
        students,
        whole(students * u18_student_share),
        whole(students * enrolments_per_student).max(students),
        weekly_hours,
        teachers,
        whole(teachers * employed_share),
        tenth(weekly_hours / 30.0),
        whole(normal_students * waiting_share),
        expenditure_total,
        whole(expenditure_total * teaching_share),
        income_fees,
        subsidy_municipal,
        subsidy_state,
        income_other,
        subsidy_district,
    ]
}
