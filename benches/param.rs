//! Parsing + checking the sample param files, from text already in memory
//! (what every `ctibridge dial` does before it sends anything).
//! Goal (issue 2): under 50 µs.

use std::path::PathBuf;

use criterion::{black_box, criterion_group, criterion_main, Criterion};

use ctibridge::diag::Diagnostics;
use ctibridge::load::check_sources;
use ctibridge::source::{FileRole, SourceFile, SourceMap};

const PARAM: &str = include_str!("../samples/clicktocall_param.txt");
const STATION: &str = include_str!("../samples/station.txt");
const TAPI: &str = include_str!("../samples/tapi_param.txt");

fn parse_and_check(c: &mut Criterion) {
    c.bench_function("parse+check sample (param, station, tapi)", |b| {
        b.iter(|| {
            let mut sources = SourceMap::new();
            let p = sources.add(SourceFile::new(
                PathBuf::from("p"),
                FileRole::Param,
                black_box(PARAM.as_bytes()),
            ));
            let s = sources.add(SourceFile::new(
                PathBuf::from("s"),
                FileRole::Station,
                black_box(STATION.as_bytes()),
            ));
            let t = sources.add(SourceFile::new(
                PathBuf::from("t"),
                FileRole::TapiGlobal,
                black_box(TAPI.as_bytes()),
            ));
            let mut diags = Diagnostics::new();
            let checked = check_sources(&mut sources, p, Some(s), &[t], &mut diags);
            assert!(!diags.has_errors());
            black_box(checked);
        })
    });
    c.bench_function("parse+check sample param file alone", |b| {
        b.iter(|| {
            let mut sources = SourceMap::new();
            let p = sources.add(SourceFile::new(
                PathBuf::from("p"),
                FileRole::Param,
                black_box(PARAM.as_bytes()),
            ));
            let mut diags = Diagnostics::new();
            black_box(check_sources(&mut sources, p, None, &[], &mut diags));
        })
    });
}

criterion_group!(benches, parse_and_check);
criterion_main!(benches);
