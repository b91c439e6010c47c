//! Embeds the web console (`console/` at the workspace root) in the admin API: every file
//! but the tests and notes, gzipped once here and embedded only gzipped (the rare client
//! that does not take gzip gets it unzipped on the fly), under a path versioned by the hash
//! of the whole console so browsers may cache assets forever. `index.html` names that
//! version.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn main() {
    query_parameters();
    gzip_document();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../console");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    for (_, path) in &files {
        println!("cargo:rerun-if-changed={}", path.display());
    }

    let mut hasher = Sha256::new();
    for (name, path) in &files {
        hasher.update(name.as_bytes());
        hasher.update(std::fs::read(path).expect("a console file"));
    }
    let version: String = hasher
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();

    let mut table = String::new();
    writeln!(
        table,
        "/// The hash of the whole console, naming its assets' path."
    )
    .unwrap();
    writeln!(table, "pub const VERSION: &str = \"{version}\";").unwrap();
    writeln!(table, "/// Every embedded file: path, gzipped content.").unwrap();
    writeln!(table, "pub static FILES: &[(&str, &[u8])] = &[").unwrap();
    for (i, (name, path)) in files.iter().enumerate() {
        let mut content = std::fs::read(path).expect("a console file");
        if name == "index.html" {
            content = String::from_utf8(content)
                .expect("index.html is UTF-8")
                .replace("{{VERSION}}", &version)
                .into_bytes();
        }
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gzip.write_all(&content).expect("gzip");
        let zipped = out.join(format!("console-{i}.gz"));
        std::fs::write(&zipped, gzip.finish().expect("gzip")).expect("writing OUT_DIR");
        writeln!(
            table,
            "    ({name:?}, include_bytes!({:?})),",
            zipped.display()
        )
        .unwrap();
    }
    writeln!(table, "];").unwrap();
    std::fs::write(out.join("console_files.rs"), table).expect("writing OUT_DIR");
}

/// The OpenAPI document, embedded gzipped like the console: it is 400 KB of JSON.
fn gzip_document() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(&std::fs::read(&path).expect("openapi.json"))
        .expect("gzip");
    std::fs::write(out.join("openapi.json.gz"), gzip.finish().expect("gzip"))
        .expect("writing OUT_DIR");
}

/// The query parameters each operation of the OpenAPI document takes, for refusing the
/// others: `(method, path template, names)`, a name ending in `[name]` standing for any key
/// of that object (`customField[drink]`).
fn query_parameters() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    println!("cargo:rerun-if-changed={}", path.display());
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("openapi.json")).expect("valid JSON");
    let mut table = String::from("pub static QUERY_PARAMETERS: &[(&str, &str, &[&str])] = &[\n");
    let paths = document["paths"].as_object().expect("paths");
    for (template, operations) in paths {
        for (method, operation) in operations.as_object().expect("operations") {
            let names: Vec<String> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .filter_map(|p| p["name"].as_str())
                .map(|n| format!("{n:?}"))
                .collect();
            writeln!(
                table,
                "    ({:?}, {template:?}, &[{}]),",
                method.to_ascii_uppercase(),
                names.join(", ")
            )
            .unwrap();
        }
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out.join("query_parameters.rs"), table).expect("writing OUT_DIR");
}

/// Files below `dir` as (path from `root` with `/`, absolute path); tests, notes, licences
/// (they ship in the repository) and the type-checking tools (`types/`, `node_modules/`, the
/// npm and TypeScript configuration) stay out of the binary.
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path
            .strip_prefix(root)
            .expect("below the root")
            .to_string_lossy()
            .replace('\\', "/");
        if path.is_dir() {
            if !matches!(name.as_str(), "tests" | "types" | "node_modules") {
                collect(root, &path, files);
            }
        } else if !name.ends_with(".md")
            && !name.ends_with(".txt")
            && !name.starts_with('.')
            && !matches!(
                name.as_str(),
                "package.json" | "package-lock.json" | "tsconfig.json"
            )
        {
            files.push((name, path));
        }
    }
}
