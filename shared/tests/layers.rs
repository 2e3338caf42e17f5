//! The library's architecture, checked: a module's path names its layer, dependencies point one
//! way (runtime → adapters → app → domain, sources → domain), and no module needs one that needs
//! it back. Reads the `crate::`, `super::`, `self::` and child-module paths of every file under
//! `shared/src` (uses and inline paths, test modules included), resolves each to the file that
//! defines it, and fails naming every cycle and every import against the arrows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Which layers each layer may use (besides itself).
fn allowed(from: &str, to: &str) -> bool {
    from == to
        || match from {
            "crate" | "testkit" => true,
            "runtime" => to != "testkit",
            "adapters" => matches!(to, "app" | "domain" | "sources"),
            "app" => matches!(to, "domain" | "sources"),
            "sources" => to == "domain",
            _ => false,
        }
}

/// A module: its path (`crate::app::ports::store`) and the code of its file.
struct Module {
    path: Vec<String>,
    file: String,
    code: String,
}

fn layer(path: &[String]) -> &str {
    path.get(1).map_or("crate", String::as_str)
}

fn modules_in(src: &Path) -> Vec<Module> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("shared/src is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let relative = file.strip_prefix(src).expect("under src").with_extension("");
            let mut path = vec!["crate".to_owned()];
            path.extend(relative.iter().map(|p| p.to_string_lossy().into_owned()));
            if path.last().is_some_and(|p| p == "mod" || p == "lib") {
                path.pop();
            }
            let code = std::fs::read_to_string(&file).expect("a source file is readable");
            Module { path, file: file.display().to_string(), code }
        })
        .collect()
}

/// The code without comments and without the contents of string and char literals.
fn strip(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    let mut out = String::with_capacity(code.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !prev_is_ident(&chars, i) {
            // raw string r"..." or r#"..."#
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && (chars.get(i + 2) == Some(&'\'') || next == Some('\\')) {
            // a char literal ('x' or '\n'); a lifetime ('a) is left as it is
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// Identifiers, `::` and single punctuation characters.
fn tokens(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push("::".to_owned());
            i += 2;
        } else {
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
            i += 1;
        }
    }
    out
}

/// Expands a use tree starting at `tokens[i]` into full paths; returns them and the index after.
fn use_tree(tokens: &[String], mut i: usize, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix.to_vec();
    loop {
        match tokens.get(i).map(String::as_str) {
            Some("{") => {
                i += 1;
                loop {
                    i = use_tree(tokens, i, &path, out);
                    match tokens.get(i).map(String::as_str) {
                        Some(",") => {
                            i += 1;
                            if tokens.get(i).map(String::as_str) == Some("}") {
                                return i + 1;
                            }
                        }
                        Some("}") => return i + 1,
                        _ => return i,
                    }
                }
            }
            Some("*") => {
                out.push(path);
                return i + 1;
            }
            Some(t) if t.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                if t == "self" && !path.is_empty() {
                    out.push(path.clone());
                    return i + 1;
                }
                path.push(t.to_owned());
                i += 1;
                if tokens.get(i).map(String::as_str) == Some("::") {
                    i += 1;
                    continue;
                }
                if tokens.get(i).map(String::as_str) == Some("as") {
                    i += 2;
                }
                out.push(path);
                return i;
            }
            _ => return i,
        }
    }
}

/// Every module path a file's code refers to (unresolved), with the inline-module depth at
/// which each reference stands (`super` inside `mod tests { }` is the file's own module).
fn references(code: &str) -> (Vec<(Vec<String>, usize)>, BTreeSet<String>) {
    let toks = tokens(&strip(code));
    let mut refs = Vec::new();
    let mut children = BTreeSet::new();
    let mut depth_stack: Vec<usize> = Vec::new(); // brace depths at which inline modules opened
    let mut braces = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i].as_str();
        match t {
            "{" => braces += 1,
            "}" => {
                braces = braces.saturating_sub(1);
                if depth_stack.last() == Some(&braces) {
                    depth_stack.pop();
                }
            }
            "mod" => {
                if let (Some(name), Some(next)) = (toks.get(i + 1), toks.get(i + 2)) {
                    if next == ";" && depth_stack.is_empty() {
                        children.insert(name.clone());
                    } else if next == "{" {
                        depth_stack.push(braces);
                    }
                }
            }
            "use" => {
                let mut paths = Vec::new();
                let after = use_tree(&toks, i + 1, &[], &mut paths);
                for p in paths {
                    refs.push((p, depth_stack.len()));
                }
                i = after;
                continue;
            }
            _ => {
                let starts_path = matches!(t, "crate" | "super" | "self") || children.contains(t);
                let after_colons = i > 0 && toks[i - 1] == "::";
                if starts_path && !after_colons && toks.get(i + 1).map(String::as_str) == Some("::") {
                    let mut path = vec![t.to_owned()];
                    let mut j = i + 1;
                    while toks.get(j).map(String::as_str) == Some("::") {
                        match toks.get(j + 1) {
                            Some(seg) if seg.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                                path.push(seg.clone());
                                j += 2;
                            }
                            _ => break,
                        }
                    }
                    refs.push((path, depth_stack.len()));
                    i = j;
                    continue;
                }
            }
        }
        i += 1;
    }
    (refs, children)
}

/// The module graph: module path → the modules it uses (itself left out).
fn graph(modules: &[Module]) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let known: BTreeSet<Vec<String>> = modules.iter().map(|m| m.path.clone()).collect();
    let mut edges = BTreeMap::new();
    for m in modules {
        let (refs, children) = references(&m.code);
        let mut to = BTreeSet::new();
        for (path, inline_depth) in refs {
            let mut base: Vec<String>;
            let mut rest = path.as_slice();
            match rest.first().map(String::as_str) {
                Some("crate") => {
                    base = vec!["crate".into()];
                    rest = &rest[1..];
                }
                Some("self") => {
                    base = m.path.clone();
                    rest = &rest[1..];
                }
                Some("super") => {
                    base = m.path.clone();
                    let mut inline = inline_depth;
                    while rest.first().map(String::as_str) == Some("super") {
                        if inline > 0 {
                            inline -= 1;
                        } else {
                            base.pop();
                        }
                        rest = &rest[1..];
                    }
                }
                Some(first) if children.contains(first) => base = m.path.clone(),
                _ => continue, // an external crate, or a name in scope
            }
            let mut target = base.clone();
            let mut resolved = known.contains(&target).then(|| target.clone());
            for seg in rest {
                target.push(seg.clone());
                if known.contains(&target) {
                    resolved = Some(target.clone());
                }
            }
            if let Some(r) = resolved.filter(|r| *r != m.path) {
                to.insert(r);
            }
        }
        edges.insert(m.path.clone(), to);
    }
    edges
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    struct State<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on_stack: BTreeSet<&'a Vec<String>>,
        next: usize,
        found: Vec<Vec<Vec<String>>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Vec<String>) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges.get(v).into_iter().flatten() {
            let Some((w, _)) = s.edges.get_key_value(w) else { continue };
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[w].min(s.low[v]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.index[w].min(s.low[v]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.found
}

/// Every problem: cycles, and uses against the layer arrows.
fn problems(modules: &[Module]) -> Vec<String> {
    let edges = graph(modules);
    let name = |p: &Vec<String>| p.join("::");
    let mut found: Vec<String> = cycles(&edges)
        .into_iter()
        .map(|c| format!("import cycle: {}", c.iter().map(name).collect::<Vec<_>>().join(" ↔ ")))
        .collect();
    let files: BTreeMap<&Vec<String>, &str> = modules.iter().map(|m| (&m.path, m.file.as_str())).collect();
    for (from, tos) in &edges {
        for to in tos {
            if !allowed(layer(from), layer(to)) {
                found.push(format!(
                    "{} uses {}: the {} layer may not depend on {} ({})",
                    name(from),
                    name(to),
                    layer(from),
                    layer(to),
                    files[from]
                ));
            }
        }
    }
    found
}

/// The tree checked: `shared/src`, or `FORESIGHT_LAYERS_SRC` (to run the check on another tree,
/// an old commit's for instance).
fn src() -> PathBuf {
    std::env::var_os("FORESIGHT_LAYERS_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

#[test]
fn no_import_cycles_and_dependencies_point_toward_the_domain() {
    let modules = modules_in(&src());
    assert!(modules.len() > 40, "found only {} modules under {}", modules.len(), src().display());
    let edges = graph(&modules);
    let count: usize = edges.values().map(BTreeSet::len).sum();
    assert!(count > 100, "read only {count} dependencies: did the parse break?");
    let found = problems(&modules);
    assert!(found.is_empty(), "{} problem(s):\n{}", found.len(), found.join("\n"));
}

fn with_line(modules: &mut [Module], path: &str, line: &str) {
    let m = modules.iter_mut().find(|m| m.path.join("::") == path).unwrap_or_else(|| panic!("no module {path}"));
    m.code = format!("{line}\n{}", m.code);
}

#[test]
fn the_check_catches_planted_cycles_and_wrong_way_imports() {
    // A domain module using one that uses it: account ← health, planted health ← account.
    let mut modules = modules_in(&src());
    with_line(&mut modules, "crate::domain::account", "use crate::domain::health::Band;");
    let found = problems(&modules);
    assert!(found.iter().any(|p| p.starts_with("import cycle") && p.contains("crate::domain::account")), "{found:?}");

    // An inline path, not a `use`: the settings reaching into the dispatcher that reads them.
    let mut modules = modules_in(&src());
    with_line(&mut modules, "crate::app::dispatch::routes", "fn f(_: &crate::app::settings::Settings) {}");
    assert!(problems(&modules).iter().any(|p| p.starts_with("import cycle")), "{:?}", problems(&modules));

    // `super::` from a child through a parent that re-exports it.
    let mut modules = modules_in(&src());
    with_line(&mut modules, "crate::domain::version", "use super::AccountRecord;");
    assert!(problems(&modules).iter().any(|p| p.contains("crate::domain::version")), "{:?}", problems(&modules));

    // The domain reaching out to a layer above it, and the app to the runtime.
    let mut modules = modules_in(&src());
    with_line(&mut modules, "crate::domain::time", "use crate::app::settings::{self, Settings};");
    with_line(&mut modules, "crate::app::alerts", "fn g() { let _ = crate::runtime::clock::unix_now(); }");
    let found = problems(&modules);
    assert!(found.iter().any(|p| p.contains("the domain layer may not depend on app")), "{found:?}");
    assert!(found.iter().any(|p| p.contains("the app layer may not depend on runtime")), "{found:?}");

    // Comments and strings are not code.
    let mut modules = modules_in(&src());
    with_line(
        &mut modules,
        "crate::domain::time",
        "// use crate::app::settings::Settings;\nconst S: &str = \"crate::app::x\";",
    );
    assert!(problems(&modules).is_empty(), "{:?}", problems(&modules));
}
