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

/// The `<lookup>` of a param file: a stand-in ERP answering JSON or XML
/// with the caller's number in each form the section can send; "not found"
/// (404, or an answer without the fields) is an unknown caller; an ERP
/// slower than `<lookup_timeout>` is a failure saying so; `--dry-run`
/// shows the request with its secret masked; a `<directory>` works the
/// same way.
#[test]
fn the_lookup_section_asks_the_erp_or_reads_the_directory() {
    use common::{with_files, Recorded, StandIn};
    let (release, held) = std::sync::mpsc::channel::<()>();
    let held = std::sync::Mutex::new(held);
    let erp = StandIn::start(move |r: &Recorded| {
        if r.header("Authorization") != Some("Bearer erp-key-123") {
            return (401, "no".into());
        }
        let (path, query) = r.target.split_once('?').unwrap_or((&r.target, ""));
        match (path, query) {
            ("/json", "tel=0388202020&e164=%2B33388202020&last9=388202020&intl=33388202020") => (
                200,
                r#"{"contact":{"name":"Marie Dupont","company":"Dupont SA"},"id":"T0001"}"#.into(),
            ),
            ("/json", _) => (200, r#"{"contact":null}"#.into()),
            ("/xml", "tel=0388202020&e164=%2B33388202020&last9=388202020&intl=33388202020") => (
                200,
                r#"<tiers ref="T0001"><nom>Marie Dupont</nom><societe>Dupont SA</societe></tiers>"#
                    .into(),
            ),
            ("/xml", _) => (404, "<error>not found</error>".into()),
            ("/slow", _) => {
                let _ = held
                    .lock()
                    .expect("held")
                    .recv_timeout(std::time::Duration::from_secs(60));
                (200, "{}".into())
            }
            _ => (404, "no such page".into()),
        }
    });
    let dir = TempDir::new("lookup-section");
    dir.write("station.txt", "<user>erp-key-123\n<telorg>1003\n");
    let param = |path: &str, answer: &str| {
        dir.write(
            "clicktocall_param.txt",
            &format!(
                "<callto>\ncmd=callto:$teldest$\n<lookup>\n<url>{}?tel=$tel$&e164=$tele164$&last9=$tel9$&intl=$telintl$\n<headers>Authorization: Bearer $user$\n<lookup_timeout>0.5\n{answer}",
                erp.url(path)
            ),
        );
    };
    let lookup = |args: &[&str]| {
        let out = with_files(&dir)
            .arg("lookup")
            .args(args)
            .output()
            .expect("lookup");
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };

    param(
        "/json",
        "<json_name>contact.name\n<json_company>contact.company\n<json_record>id\n",
    );
    for number in ["33388202020", "+33 3 88 20 20 20", "0388202020"] {
        let (code, out, err) = lookup(&[number]);
        assert_eq!(code, Some(0), "{err}");
        assert!(
            out.contains("→ Marie Dupont (Dupont SA), record T0001"),
            "{number}: {out}"
        );
    }
    let (code, out, _) = lookup(&["0611111111"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("→ unknown caller"), "{out}");
    // What would be sent, the key masked.
    let (code, out, _) = lookup(&["--dry-run", "0388202020"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("/json?tel=0388202020&e164=%2B33388202020&last9=388202020&intl=33388202020"),
        "{out}"
    );
    assert!(
        !out.contains("erp-key-123") && out.contains("Bearer ********"),
        "{out}"
    );

    param(
        "/xml",
        "<type_return>xml\n<xml_name>nom\n<xml_company>societe\n<xml_record>tiers\n<xml_result_record_in_attrib>1\n<xml_record_attrib>ref\n",
    );
    let (_, out, err) = lookup(&["0388202020"]);
    assert!(
        out.contains("→ Marie Dupont (Dupont SA), record T0001"),
        "{out}{err}"
    );
    let (code, out, _) = lookup(&["0611111111"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("→ unknown caller"), "{out}");

    // An ERP slower than <lookup_timeout>: a failure that says so.
    param("/slow", "<json_name>name\n");
    let (code, _, err) = lookup(&["0388202020"]);
    assert_eq!(code, Some(4), "{err}");
    assert!(
        err.contains("no answer within <lookup_timeout> (500 ms)"),
        "{err}"
    );
    drop(release);

    // The same section with a directory file.
    dir.write(
        "directory.csv",
        "name;phone;record\nMarie Dupont;+33 3 88 20 20 20;T0001\n",
    );
    dir.write(
        "clicktocall_param.txt",
        &format!(
            "<callto>\ncmd=callto:$teldest$\n<lookup>\n<directory>{}\n",
            dir.path().join("directory.csv").display()
        ),
    );
    let (code, out, err) = lookup(&["33388202020"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("→ Marie Dupont, record T0001"), "{out}");

    // No <lookup> at all: a configuration error that says what to add.
    dir.write("clicktocall_param.txt", "<callto>\ncmd=callto:$teldest$\n");
    let (code, _, err) = lookup(&["0388202020"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("the param files have no `<lookup>`"), "{err}");
}

/// A `<lookup>` in the user's station.txt (a desk's own directory): used,
/// and its relative `<directory>` read from the station file's folder.
#[test]
fn a_lookup_in_station_txt_is_the_desks_own() {
    let dir = TempDir::new("lookup-station");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("mkdir");
    std::fs::write(
        home.join("mes-contacts.csv"),
        "name,phone\nMarie Dupont,+33 3 88 20 20 20\n",
    )
    .expect("write");
    std::fs::write(
        home.join("station.txt"),
        "<telorg>1003\n<lookup>\n<directory>mes-contacts.csv\n",
    )
    .expect("write");
    dir.write("clicktocall_param.txt", "<callto>\ncmd=callto:$teldest$\n");
    let out = ctibridge(&dir)
        .arg("--param")
        .arg(dir.path().join("clicktocall_param.txt"))
        .arg("--station")
        .arg(home.join("station.txt"))
        .args(["lookup", "0388202020"])
        .output()
        .expect("lookup");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("→ Marie Dupont"),
        "{}",
        text(&out.stdout)
    );
}
