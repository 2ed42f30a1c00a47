//! `ctibridge lookup NUMBER --directory FILE`: who a number belongs to.

use std::time::Instant;

use ctibridge::exit::Exit;
use ctibridge::names::Directory;

pub(crate) fn lookup(number: &str, file: &std::path::Path, country: &str, json: bool) -> Exit {
    let Some(key) = ctibridge::names::key_of(number, country) else {
        errln!("error: `{number}` is not a phone number\n  = help: nothing was looked up");
        return Exit::BadInput;
    };
    let loaded = Instant::now();
    let (directory, problems) = match Directory::from_file(file, country) {
        Ok(d) => d,
        Err(e) => {
            errln!("error: the directory cannot be read: {e}");
            return Exit::Config;
        }
    };
    let load_ms = loaded.elapsed().as_secs_f64() * 1000.0;
    for p in &problems {
        errln!("warning: {}:{}: {}", file.display(), p.line, p.message);
    }
    let started = Instant::now();
    let found = directory.find(number, country);
    let find_us = started.elapsed().as_secs_f64() * 1e6;
    if json {
        let v = serde_json::json!({
            "number": number,
            "identity": key,
            "found": found,
            "directory": file.display().to_string(),
            "people": directory.len(),
            "problems": problems.len(),
            "load_ms": load_ms,
            "lookup_us": find_us,
        });
        outln!("{v}");
    } else {
        match found {
            Some(p) => {
                let record = if p.record.is_empty() {
                    String::new()
                } else {
                    format!(", record {}", p.record)
                };
                outln!("{number} ({key}) → {}{record}", p.display());
            }
            None => outln!("{number} ({key}) → unknown caller"),
        }
        outln!(
            "  {} people in {} (read in {load_ms:.1} ms), looked up in {find_us:.0} µs",
            directory.len(),
            file.display()
        );
    }
    Exit::Ok
}
