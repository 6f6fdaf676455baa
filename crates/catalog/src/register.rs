//! The official register of German municipalities (Destatis GV-ISys),
//! bundled as reference data of the catalogue (`catalog/reference/`,
//! licence dl-de/by-2-0; [`ATTRIBUTION`] must be shown wherever the data
//! are used or listed). From a regional key it proposes a member's name
//! and kind: an 8-digit key is a municipality (a *kreisfreie Stadt* when it
//! is the only municipality of its Kreis), a 5-digit key a Kreis, whose
//! structure is the sum of its municipalities. It also gives each member's
//! structure ([`Register::structure`]) for the structural neighbours: a
//! Kreis's area and population are the sums of its municipalities', its
//! degree of urbanisation their population-weighted mix.
//!
//! A data directory may hold a newer extract in the same format
//! (`catalog/reference/gemeinden_gv_isys.csv` with `register.toml` naming
//! the year it describes; `vergleichsring reference import`), which
//! [`Register::load`] prefers to the bundled one.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use crate::members::MemberKind;

/// The attribution the licence requires.
pub const ATTRIBUTION: &str =
    "© Statistisches Bundesamt (Destatis), Gemeindeverzeichnis-Informationssystem GV-ISys";

/// The bundled extract.
const BUNDLED: &str = include_str!("../../../catalog/reference/gemeinden_gv_isys.csv");

/// The columns an extract must have, in this order.
const COLUMNS: [&str; 16] = [
    "ags",
    "name",
    "land",
    "regierungsbezirk",
    "kreis",
    "gemeindeverband",
    "area_km2",
    "population",
    "population_male",
    "population_female",
    "density_per_km2",
    "postal_code",
    "longitude",
    "latitude",
    "degurba",
    "degurba_label",
];

/// One municipality of the register.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Municipality {
    /// Amtlicher Gemeindeschlüssel, 8 digits.
    pub ags: String,
    /// Official name with its suffix (`Köln, Stadt`).
    pub name: String,
    /// The 5-digit key of its Kreis.
    pub kreis: String,
    /// Area in km².
    pub area_km2: f64,
    /// Inhabitants.
    pub population: u64,
    /// Degree of urbanisation: 1 dense, 2 intermediate, 3 thin.
    pub degurba: u8,
}

/// The register: municipalities by key.
#[derive(Debug, Default)]
pub struct Register {
    municipalities: BTreeMap<String, Municipality>,
    /// The year the extract describes (its population's 31 December).
    pub year: i32,
    /// Whether this is the extract bundled with the service.
    pub bundled: bool,
}

/// The year the bundled extract describes.
pub const BUNDLED_YEAR: i32 = 2019;

/// Where a data directory's catalogue keeps an imported extract.
pub const FILE: &str = "reference/gemeinden_gv_isys.csv";

/// Where a data directory's catalogue names the imported extract's year.
pub const YEAR_FILE: &str = "reference/register.toml";

/// A member's structure from the register: what the structural
/// neighbours compare.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Structure {
    /// Area in km².
    pub area_km2: f64,
    /// Inhabitants in the register's year.
    pub population: u64,
    /// Degree of urbanisation, 1 (dense) to 3 (thin); a Kreis's is the
    /// population-weighted mean of its municipalities' (area-weighted
    /// where none is inhabited).
    pub degurba: f64,
    /// Shares of the inhabitants living in dense, intermediate and thin
    /// municipalities (a municipality: 1 in its own class).
    pub degurba_shares: [f64; 3],
    /// The 5-digit key of the Kreis (a Kreis: itself).
    pub kreis: String,
    /// Municipalities (1 for a municipality).
    pub municipalities: usize,
}

/// A line of an extract that does not read, with its number (1-based,
/// the header is line 1).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("register line {line}: {message}")]
pub struct RegisterError {
    /// The line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A member as the register proposes it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Proposal {
    /// The key asked for.
    pub member_id: String,
    /// A name in the ring's usual form (`Stadt Köln`); for a Kreis, whose
    /// name the register does not hold, empty.
    pub name: String,
    /// The proposed kind.
    pub kind: MemberKind,
    /// Inhabitants (a Kreis: the sum of its municipalities).
    pub population: u64,
    /// Area in km² (a Kreis: the sum).
    pub area_km2: f64,
    /// Municipalities (1 for a municipality).
    pub municipalities: usize,
}

impl Register {
    /// Reads an extract in the bundled format (semicolon-separated, the
    /// columns of [`COLUMNS`], a header line).
    pub fn parse(text: &str) -> Result<Register, RegisterError> {
        let mut lines = text.lines().enumerate();
        let header: Vec<&str> = lines
            .next()
            .map(|(_, h)| h.trim_start_matches('\u{feff}').split(';').collect())
            .unwrap_or_default();
        if header != COLUMNS {
            return Err(RegisterError {
                line: 1,
                message: format!("the header must be {}", COLUMNS.join(";")),
            });
        }
        let mut municipalities = BTreeMap::new();
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let m = row(line).map_err(|message| RegisterError {
                line: i + 1,
                message,
            })?;
            if municipalities.insert(m.ags.clone(), m).is_some() {
                return Err(RegisterError {
                    line: i + 1,
                    message: "this ags is listed twice".into(),
                });
            }
        }
        if municipalities.is_empty() {
            return Err(RegisterError {
                line: 1,
                message: "the extract holds no municipality".into(),
            });
        }
        Ok(Register {
            municipalities,
            year: BUNDLED_YEAR,
            bundled: false,
        })
    }

    /// The bundled register, read once.
    pub fn bundled() -> &'static Register {
        Register::shared_bundled()
    }

    /// The bundled register, shared.
    pub fn shared_bundled() -> &'static Arc<Register> {
        static REGISTER: OnceLock<Arc<Register>> = OnceLock::new();
        // The bundled file is part of the build and checked by a test; a
        // damaged one gives an empty register rather than a panic.
        REGISTER.get_or_init(|| {
            let mut r = Register::parse(BUNDLED).unwrap_or_default();
            r.year = BUNDLED_YEAR;
            r.bundled = true;
            Arc::new(r)
        })
    }

    /// The register of a catalogue directory: its imported extract
    /// ([`FILE`], [`YEAR_FILE`]) if it has one, else `None` (the bundled
    /// one applies).
    pub fn load(catalog_dir: &std::path::Path) -> Result<Option<Register>, RegisterError> {
        let path = catalog_dir.join(FILE);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(None);
        };
        let mut r = Register::parse(&text)?;
        let year_text = std::fs::read_to_string(catalog_dir.join(YEAR_FILE)).unwrap_or_default();
        r.year = year_text
            .lines()
            .find_map(|l| l.trim().strip_prefix("year"))
            .and_then(|rest| rest.trim().strip_prefix('='))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| RegisterError {
                line: 0,
                message: format!(
                    "{} must name the year of {FILE} as `year = YYYY`",
                    YEAR_FILE
                ),
            })?;
        Ok(Some(r))
    }

    /// A member's structure: a municipality's from its row (`None` for an
    /// uninhabited area, which no member is), a Landkreis's (5 digits)
    /// from its municipalities. `None` for a key the register does not
    /// hold.
    pub fn structure(&self, member_id: &str) -> Option<Structure> {
        let all: Vec<&Municipality> = match member_id.len() {
            8 => vec![self.municipality(member_id)?],
            5 => self.of_kreis(member_id).collect(),
            _ => return None,
        };
        let first = all.first()?;
        let population: u64 = all.iter().map(|m| m.population).sum();
        let area_km2: f64 = all.iter().map(|m| m.area_km2).sum();
        if area_km2 <= 0.0 {
            return None;
        }
        // Weights: inhabitants; an uninhabited Kreis (none exists) by area.
        let weight = |m: &Municipality| {
            if population > 0 {
                m.population as f64
            } else {
                m.area_km2
            }
        };
        let total: f64 = all.iter().map(|m| weight(m)).sum();
        let mut shares = [0.0; 3];
        for m in &all {
            if let Some(s) = shares.get_mut(usize::from(m.degurba.clamp(1, 3)) - 1) {
                *s += weight(m) / total.max(f64::MIN_POSITIVE);
            }
        }
        let degurba = shares[0] + 2.0 * shares[1] + 3.0 * shares[2];
        Some(Structure {
            area_km2,
            population,
            degurba,
            degurba_shares: shares,
            kreis: if member_id.len() == 5 {
                member_id.to_string()
            } else {
                first.kreis.clone()
            },
            municipalities: all.len(),
        })
    }

    /// Every municipality, in key order.
    pub fn municipalities(&self) -> impl Iterator<Item = &Municipality> {
        self.municipalities.values()
    }

    /// The number of municipalities.
    pub fn len(&self) -> usize {
        self.municipalities.len()
    }

    /// Whether the register is empty.
    pub fn is_empty(&self) -> bool {
        self.municipalities.is_empty()
    }

    /// A municipality by its 8-digit key.
    pub fn municipality(&self, ags: &str) -> Option<&Municipality> {
        self.municipalities.get(ags)
    }

    /// The municipalities of a Kreis (5-digit key).
    pub fn of_kreis<'a>(&'a self, kreis: &'a str) -> impl Iterator<Item = &'a Municipality> + 'a {
        self.municipalities
            .range(kreis.to_string()..)
            .take_while(move |(k, _)| k.starts_with(kreis))
            .map(|(_, m)| m)
            .filter(move |m| m.kreis == kreis)
    }

    /// What the register proposes for a member key: a municipality (8
    /// digits) or a Landkreis (5 digits). `None` for a key it does not
    /// hold (a merger newer than the extract, a typo).
    pub fn propose(&self, member_id: &str) -> Option<Proposal> {
        match member_id.len() {
            8 => {
                let m = self.municipality(member_id)?;
                let alone = self.of_kreis(&m.kreis).count() == 1;
                let kind = if alone && m.ags.starts_with(&m.kreis) {
                    MemberKind::KreisfreieStadt
                } else {
                    MemberKind::KreisangehoerigeGemeinde
                };
                Some(Proposal {
                    member_id: member_id.to_string(),
                    name: usual_name(&m.name),
                    kind,
                    population: m.population,
                    area_km2: m.area_km2,
                    municipalities: 1,
                })
            }
            5 => {
                let all: Vec<&Municipality> = self.of_kreis(member_id).collect();
                // A kreisfreie Stadt is a Kreis of one: not a Landkreis.
                if all.len() < 2 {
                    return None;
                }
                Some(Proposal {
                    member_id: member_id.to_string(),
                    name: String::new(),
                    kind: MemberKind::Landkreis,
                    population: all.iter().map(|m| m.population).sum(),
                    area_km2: all.iter().map(|m| m.area_km2).sum(),
                    municipalities: all.len(),
                })
            }
            _ => None,
        }
    }
}

/// One data line.
fn row(line: &str) -> Result<Municipality, String> {
    let cells: Vec<&str> = line.split(';').collect();
    if cells.len() != COLUMNS.len() {
        return Err(format!(
            "{} fields, expected {}",
            cells.len(),
            COLUMNS.len()
        ));
    }
    let digits = |s: &str, n: usize, what: &str| {
        if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(s.to_string())
        } else {
            Err(format!("{what} '{s}' is not {n} digits"))
        }
    };
    let number = |s: &str, what: &str| {
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("{what} '{s}' is not a number of at least 0"))
    };
    let ags = digits(cells[0], 8, "ags")?;
    let kreis = digits(cells[4], 5, "kreis")?;
    if !ags.starts_with(&kreis) {
        return Err(format!("ags {ags} is not in kreis {kreis}"));
    }
    let population = cells[7]
        .parse::<u64>()
        .map_err(|_| format!("population '{}' is not a whole number", cells[7]))?;
    Ok(Municipality {
        ags,
        name: cells[1].trim().to_string(),
        kreis,
        area_km2: number(cells[6], "area_km2")?,
        population,
        degurba: match cells[14].trim() {
            "1" | "01" => 1,
            "2" | "02" => 2,
            "3" | "03" => 3,
            other => return Err(format!("degurba '{other}' is not 01, 02 or 03")),
        },
    })
}

/// The register's `Köln, Stadt` as the ring writes it: `Stadt Köln`.
/// Names with no suffix, or whose suffix is a remark in parentheses or an
/// abbreviation (`gemfr. Gebiet`), stay as they are.
fn usual_name(official: &str) -> String {
    match official.rsplit_once(", ") {
        Some((place, suffix))
            if !suffix.is_empty() && !suffix.contains('.') && !suffix.contains('(') =>
        {
            format!("{suffix} {place}")
        }
        _ => official.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_register_loads_completely() {
        let r = Register::parse(BUNDLED).unwrap();
        assert_eq!(r.len(), 11_004);
        let uninhabited = r
            .municipalities
            .values()
            .filter(|m| m.population == 0)
            .count();
        assert_eq!(uninhabited, 208);
        let total: u64 = r.municipalities.values().map(|m| m.population).sum();
        assert_eq!(total, 83_166_711);
        assert_eq!(Register::bundled().len(), 11_004);
    }

    #[test]
    fn keys_propose_name_and_kind() {
        let r = Register::bundled();
        let koeln = r.propose("05315000").unwrap();
        assert_eq!(koeln.name, "Stadt Köln");
        assert_eq!(koeln.kind, MemberKind::KreisfreieStadt);
        let kiel = r.propose("01002000").unwrap();
        assert_eq!(kiel.name, "Landeshauptstadt Kiel");
        // A town in a Landkreis, and the Landkreis as the sum of its towns.
        let town = r.municipality("01053105").unwrap();
        assert_eq!(
            r.propose("01053105").unwrap().kind,
            MemberKind::KreisangehoerigeGemeinde
        );
        assert_eq!(usual_name(&town.name), town.name, "a remark stays");
        let kreis = r.propose("01053").unwrap();
        assert_eq!(kreis.kind, MemberKind::Landkreis);
        let sum: u64 = r.of_kreis("01053").map(|m| m.population).sum();
        assert_eq!(kreis.population, sum);
        assert!(kreis.municipalities > 1);
        // A kreisfreie Stadt's 5-digit key is no Landkreis; unknown keys
        // and other lengths propose nothing.
        assert!(r.propose("05315").is_none());
        assert!(r.propose("09999999").is_none());
        assert!(r.propose("0531500").is_none());
    }

    #[test]
    fn a_kreis_structure_is_the_sum_and_mix_of_its_municipalities() {
        let r = Register::bundled();
        let kreise: std::collections::BTreeSet<&str> =
            r.municipalities().map(|m| m.kreis.as_str()).collect();
        assert!(kreise.len() > 390, "{}", kreise.len());
        for k in kreise {
            let s = r.structure(k).unwrap();
            let all: Vec<&Municipality> = r.of_kreis(k).collect();
            assert_eq!(s.municipalities, all.len());
            assert_eq!(s.population, all.iter().map(|m| m.population).sum::<u64>());
            let area: f64 = all.iter().map(|m| m.area_km2).sum();
            assert!((s.area_km2 - area).abs() < 1e-6, "{k}");
            let shares: f64 = s.degurba_shares.iter().sum();
            assert!((shares - 1.0).abs() < 1e-9, "{k}: {shares}");
            // The mix by inhabitants (by area where none live), computed
            // the long way.
            let weight = |m: &Municipality| {
                if s.population > 0 {
                    m.population as f64
                } else {
                    m.area_km2
                }
            };
            let weighted: f64 = all
                .iter()
                .map(|m| weight(m) * f64::from(m.degurba))
                .sum::<f64>()
                / all.iter().map(|m| weight(m)).sum::<f64>();
            assert!((s.degurba - weighted).abs() < 1e-9, "{k}");
            assert!((1.0..=3.0).contains(&s.degurba));
        }
        // An uninhabited area is a municipality without inhabitants; a
        // Kreis with one counts its area, not its people.
        let forest = r.structure("01053105").unwrap();
        assert_eq!(forest.population, 0);
        assert_eq!(forest.degurba, 3.0);
        assert!(r.structure("99999").is_none());
    }

    #[test]
    fn damaged_extracts_name_their_line() {
        let header = COLUMNS.join(";");
        let e = Register::parse(&format!(
            "{header}\n0531500;x;05;3;05315;0;1;1;0;0;1;;0;0;01;d\n"
        ))
        .unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("ags"));
        assert!(Register::parse("ags;name\n").is_err());
    }
}
