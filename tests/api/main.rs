//! Integration tests: the real server on an ephemeral port with a fresh data
//! directory, spoken to over HTTP. One binary, one module per concern.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod access;
mod accounts_attack;
mod attacker;
mod attacks;
mod breaker26;
mod breaker26b;
mod breaker26c;
mod breaker28;
mod breaker28b;
mod breaker29;
mod breaker29b;
mod breaker30;
mod breaker30b;
mod browser;
mod browser_year;
mod catalog_years;
mod collections;
mod combination;
mod definitions;
mod disclosure;
mod domains;
mod durability;
mod etag;
mod flows;
mod golden;
mod helpers;
mod hostile;
mod maintenance;
mod matrix;
mod migration;
mod neighbours;
mod new_domains;
mod noise;
mod objectstore;
mod openapi;
mod operations;
mod people;
mod rejections;
mod releases;
mod reports;
mod snapshots;
mod state_flood;
mod throttle_attack;
mod uploads;
mod web;
mod workspace;
