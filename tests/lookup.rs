//! `ctibridge lookup NUMBER --directory FILE`: a CSV directory whose
//! numbers are written in mixed forms, as a spreadsheet export has them,
//! found from a caller's number in any provider's form.

mod common;

use common::{ctibridge, text, TempDir};

const DIRECTORY: &str = "Nom;Société;Téléphone;Mobile;Fiche\n\
    Marie Dupont;Dupont SA;03 88 20 20 20;+33 6 12 34 56 78;T0001\n\
    Jean Martin;Martin & Fils;+33 (0)1 44 55 66 77 poste 12;;T0002\n\
    Hans Muster;Muster AG;0041 44 668 18 00;;T0005\n\
    Sans numéro;;n/a;;T0009\n";

fn lookup(dir: &TempDir, args: &[&str]) -> (Option<i32>, String, String) {
    let out = ctibridge(dir)
        .arg("lookup")
        .args(args)
        .arg("--directory")
        .arg(dir.path().join("directory.csv"))
        .output()
        .expect("lookup");
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn a_caller_in_any_form_is_found_in_a_csv_directory() {
    let dir = TempDir::new("lookup-csv");
    dir.write("directory.csv", DIRECTORY);
    // Keyyo writes 33…, OVH 0033…, a desk 03…, a link +33.
    for number in [
        "33388202020",
        "0033388202020",
        "03 88 20 20 20",
        "tel:+33388202020",
    ] {
        let (code, out, err) = lookup(&dir, &[number]);
        assert_eq!(code, Some(0), "{err}");
        assert!(
            out.contains("→ Marie Dupont (Dupont SA), record T0001"),
            "{number}: {out}"
        );
        // The line that cannot be read is named, once per run.
        assert_eq!(
            err.lines().filter(|l| l.starts_with("warning:")).count(),
            1,
            "{err}"
        );
        assert!(
            err.contains("directory.csv:5: `n/a` is not a phone number"),
            "{err}"
        );
    }
    let (_, out, _) = lookup(&dir, &["+33 1 44 55 66 77"]);
    assert!(
        out.contains("Jean Martin (Martin & Fils), record T0002"),
        "{out}"
    );
    let (_, out, _) = lookup(&dir, &["+41446681800"]);
    assert!(out.contains("Hans Muster"), "{out}");
    // Unknown, and never a partial match on a shorter number.
    let (code, out, _) = lookup(&dir, &["88202020"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("→ unknown caller"), "{out}");
    // JSON.
    let (_, out, _) = lookup(&dir, &["--json", "0612345678"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["identity"], "+33612345678");
    assert_eq!(v["found"]["name"], "Marie Dupont");
    assert_eq!(v["found"]["record"], "T0001");
    assert_eq!(v["people"], 3);
    // Not a number: nothing looked up (exit 3); no file: exit 2.
    let (code, _, err) = lookup(&dir, &["Dupont"]);
    assert_eq!(code, Some(3), "{err}");
    std::fs::remove_file(dir.path().join("directory.csv")).expect("rm");
    let (code, _, err) = lookup(&dir, &["0388202020"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("the directory cannot be read"), "{err}");
}

#[test]
fn a_vcard_directory_is_read_too() {
    let dir = TempDir::new("lookup-vcf");
    dir.write(
        "contacts.vcf",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Marie Dupont\r\nORG:Dupont SA\r\nTEL;TYPE=WORK:+33 3 88 20 20 20\r\nURL:https://erp.example/tiers/T0001\r\nEND:VCARD\r\n",
    );
    let out = ctibridge(&dir)
        .args(["lookup", "33388202020", "--directory"])
        .arg(dir.path().join("contacts.vcf"))
        .output()
        .expect("lookup");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .contains("→ Marie Dupont (Dupont SA), record https://erp.example/tiers/T0001"),
        "{}",
        text(&out.stdout)
    );
}
