//! The page that explains the ring's protection of single members' values
//! (rules 13–17): what the noise flags mean, for everyone, signed in or
//! not. Reports and the overview link to it.

use maud::{Markup, html};

use crate::web::layout::layout;

/// The disclosure page. `perturbs`: whether the ring perturbs figures
/// (rule 14); `noise`: the smallest and largest relative change.
pub(crate) fn disclosure(perturbs: bool, noise: (f64, f64)) -> Markup {
    let percent = |x: f64| format!("{}", (x * 100.0).round());
    layout(
        "Geheimhaltung und Unschärfe",
        None,
        html! {
            section {
                h1 { "Geheimhaltung und Unschärfe" }
                @if perturbs {
                    p {
                        "Zum Schutz der Zahlen jedes einzelnen Mitglieds werden alle Vergleichswerte, die andere sehen, aus leicht veränderten Grunddaten berechnet. "
                        "Jede Grundzahl eines Mitglieds wird dafür fest um "
                        (percent(noise.0)) " bis " (percent(noise.1))
                        " % nach oben oder unten verschoben, jedes Jahr und in jeder Auswertung gleich. "
                        "Ihre eigenen Werte sehen Sie immer genau. "
                        "In großen Gruppen gleichen sich die Verschiebungen fast aus; in kleinen Gruppen sind Mittelwerte und Quartile etwas unschärfer, und genau das schützt die einzelnen Mitglieder. "
                        "Ihre Position wird als Fünftel der Gruppe angegeben (das erste Fünftel ist das beste), nicht als genauer Rang."
                    }
                    h2 { "Was die Stufen bedeuten" }
                    table {
                        thead { tr { th scope="col" { "Stufe" } th scope="col" { "Bedeutung" } } }
                        tbody {
                            tr { td { "geringe Unschärfe" } td { "Der Wert wurde um weniger als 2 % verschoben." } }
                            tr { td { "mittlere Unschärfe" } td { "Der Wert wurde um 2 bis unter 5 % verschoben." } }
                            tr { td { "starke Unschärfe" } td { "Der Wert wurde um 5 % oder mehr verschoben." } }
                        }
                    }
                    p { "Mittelwerte und Gesamtwerte tragen die Stufe danach, wie weit die Verschiebung sie bewegt hat. Median, Quartile, Standardabweichung und Ihre Position tragen sie nach der Größe der Gruppe (ab 20 Vergleichspartnern gering, ab 8 mittel, darunter stark), weil eine Stufe aus einzelnen Werten diese verraten könnte." }
                    p { "Einige Kennzahlen werden nur als Gruppenmittel veröffentlicht, weil ihre Werte auf einem groben Raster, an einer Grenze (100 %) oder bei null liegen, wo die Verschiebung sie nicht verbergen würde." }
                } @else {
                    p { "Dieser Ring veröffentlicht Vergleichswerte aus den gemeldeten Grunddaten ohne Unschärfe. Einzelne Werte schützen die Mindestgröße der Gruppen und die Prüfung aller Veröffentlichungen zusammen." }
                }
                p { a href="/web" { "Zur Übersicht" } }
            }
        },
    )
}
