//! `GET /docs`: one HTML page rendered from the OpenAPI document ([`super::document`]), not
//! from the Rust types, so it shows what a client generator reads. A file of its own because
//! it is a job of its own: the document says what the API is, this page only lays it out.
//!
//! It is HTML that is also well-formed XML (every element closed, every attribute quoted,
//! every text escaped), so the tests check it with an XML parser, which, unlike an HTML5
//! parser, refuses what is malformed. Nothing is fetched: the style sheet is inline, and so is
//! the one small script, needed only by the forms plain HTML cannot send (a path parameter,
//! `/jobs/{id}`; a POST whose parameters go in the query, `POST /jobs`).

use std::fmt::Write as _;

use serde_json::Value;

use super::ref_name;

/// The `/docs` page of `doc`: every operation with its text, parameters, responses and a form,
/// then every body schema.
pub fn docs_page(doc: &Value) -> String {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let title = text(&doc["info"]["title"]);
    // (method, already escaped; path; operation)
    let mut ops: Vec<(String, String, &Value)> = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for (method, op) in item.as_object().into_iter().flatten() {
                ops.push((escape(&method.to_ascii_uppercase()), path.clone(), op));
            }
        }
    }
    let mut page = String::new();
    page.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    let _ = writeln!(page, "<title>{} API</title>", escape(&title));
    page.push_str(STYLE);
    page.push_str(SCRIPT);
    page.push_str("</head>\n<body>\n");
    let _ = writeln!(
        page,
        "<h1>{} API</h1>\n<p>{}</p>\n<p>{}</p>",
        escape(&title),
        inline_code(&text(&doc["info"]["summary"])),
        inline_code(&text(&doc["info"]["description"]))
    );
    let _ = writeln!(
        page,
        "<p>The same as a machine-readable OpenAPI {} document: <a href=\"/openapi.json\">/openapi.json</a>. Each form below sends its request from this page; the answer opens in its place.</p>",
        escape(&text(&doc["openapi"]))
    );
    for tag in doc["tags"].as_array().into_iter().flatten() {
        let name = text(&tag["name"]);
        let _ = writeln!(
            page,
            "<h2>{}</h2>\n<p>{}</p>\n<ul class=\"toc\">",
            escape(&name),
            inline_code(&text(&tag["description"]))
        );
        for (method, path, op) in ops.iter().filter(|(_, _, op)| has_tag(op, &name)) {
            let _ = writeln!(
                page,
                "<li><a href=\"#{}\"><code>{} {}</code></a>: {}</li>",
                escape(&anchor(op)),
                method,
                escape(path),
                inline_code(&text(&op["summary"]))
            );
        }
        page.push_str("</ul>\n");
    }
    // The sections in the order of the contents: by tag, then by path.
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .collect();
    ops.sort_by_key(|(_, path, op)| {
        let tag = tags.iter().position(|t| has_tag(op, t));
        (tag.unwrap_or(tags.len()), path.clone())
    });
    for (method, path, op) in &ops {
        operation_section(&mut page, method, path, op);
    }
    page.push_str("<h2 id=\"bodies\">Response bodies</h2>\n");
    for (name, schema) in doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
    {
        schema_section(&mut page, name, schema);
    }
    page.push_str("</body>\n</html>\n");
    page
}

fn has_tag(op: &Value, tag: &str) -> bool {
    op["tags"]
        .as_array()
        .is_some_and(|tags| tags.iter().any(|t| t == tag))
}

fn anchor(op: &Value) -> String {
    format!("op-{}", op["operationId"].as_str().unwrap_or_default())
}

fn operation_section(page: &mut String, method: &str, path: &str, op: &Value) {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let _ = writeln!(
        page,
        "<section id=\"{}\">\n<h3><span class=\"method\">{method}</span> <code>{}</code></h3>\n<p class=\"summary\">{}</p>",
        escape(&anchor(op)),
        escape(path),
        inline_code(&text(&op["summary"]))
    );
    let description = text(&op["description"]);
    if !description.is_empty() {
        let _ = writeln!(page, "<p>{}</p>", inline_code(&description));
    }
    let parameters = op["parameters"].as_array().cloned().unwrap_or_default();
    if !parameters.is_empty() {
        page.push_str("<table>\n<tr><th>parameter</th><th>in</th><th>type</th><th>accepted</th><th>default</th><th>meaning</th></tr>\n");
        for p in &parameters {
            let s = &p["schema"];
            let range = match (s.get("minimum"), s.get("maximum")) {
                (Some(lo), Some(hi)) => format!("{lo} to {hi}"),
                _ => String::new(),
            };
            let _ = writeln!(
                page,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&text(&p["name"])),
                escape(&text(&p["in"])),
                escape(&text(&s["type"])),
                escape(&range),
                escape(&s.get("default").map(Value::to_string).unwrap_or_default()),
                inline_code(&text(&p["description"]))
            );
        }
        page.push_str("</table>\n");
    }
    page.push_str("<ul class=\"responses\">\n");
    for (status, r) in op["responses"].as_object().into_iter().flatten() {
        let mut line = format!(
            "<li><b>{}</b> {}",
            escape(status),
            inline_code(&text(&r["description"]))
        );
        for content in r["content"].as_object().into_iter().flatten() {
            let (media, body) = content;
            match ref_name(&body["schema"]) {
                Some(name) => {
                    let _ = write!(
                        line,
                        "; <code>{}</code> <a href=\"#schema-{}\">{}</a>",
                        escape(media),
                        escape(name),
                        escape(name)
                    );
                }
                None => {
                    let _ = write!(line, "; <code>{}</code>", escape(media));
                }
            }
        }
        for (name, h) in r["headers"].as_object().into_iter().flatten() {
            let value = h["schema"]
                .get("const")
                .and_then(Value::as_str)
                .map(|v| format!(": {v}"))
                .unwrap_or_default();
            let _ = write!(
                line,
                "; header <code>{}{}</code>",
                escape(name),
                escape(&value)
            );
        }
        line.push_str("</li>\n");
        page.push_str(&line);
    }
    page.push_str("</ul>\n");
    form(page, method, path, &parameters);
    page.push_str("</section>\n");
}

/// A form that sends the request. A GET with query parameters only is plain HTML; a path
/// parameter or a POST with query parameters needs the inline script to build the URL.
fn form(page: &mut String, method: &str, path: &str, parameters: &[Value]) {
    let in_path = parameters.iter().any(|p| p["in"] == "path");
    let scripted = in_path || (method != "GET" && !parameters.is_empty());
    let verb = if method == "GET" { "get" } else { "post" };
    let _ = write!(
        page,
        "<form class=\"try\" method=\"{verb}\" action=\"{}\"",
        escape(path)
    );
    if scripted {
        let _ = write!(
            page,
            " data-path=\"{}\" onsubmit=\"return send(this)\"",
            escape(path)
        );
    }
    page.push_str(">\n");
    for p in parameters {
        let name = escape(p["name"].as_str().unwrap_or_default());
        let s = &p["schema"];
        let _ = write!(page, "<label>{name} ");
        if s["type"] == "boolean" {
            let _ = write!(
                page,
                "<select name=\"{name}\"><option>false</option><option>true</option></select>"
            );
        } else if s["type"] == "integer" {
            let attr = |key: &str| {
                s.get(key)
                    .map(|v| format!(" {key}=\"{}\"", escape(&v.to_string())))
                    .unwrap_or_default()
            };
            let _ = write!(
                page,
                "<input type=\"number\" name=\"{name}\"{}{}{}/>",
                attr("minimum").replace("minimum", "min"),
                attr("maximum").replace("maximum", "max"),
                attr("default").replace("default", "value")
            );
        } else {
            let _ = write!(
                page,
                "<input type=\"text\" name=\"{name}\" required=\"required\" value=\"1\"/>"
            );
        }
        page.push_str("</label>\n");
    }
    let _ = writeln!(
        page,
        "<button type=\"submit\">{method} {}</button>\n</form>",
        escape(path)
    );
}

fn schema_section(page: &mut String, name: &str, schema: &Value) {
    let _ = writeln!(
        page,
        "<section id=\"schema-{}\">\n<h3>{}</h3>",
        escape(name),
        escape(name)
    );
    if let Some(d) = schema["description"].as_str() {
        let _ = writeln!(page, "<p>{}</p>", inline_code(d));
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    page.push_str("<table>\n<tr><th>field</th><th>type</th><th>meaning</th></tr>\n");
    for (field, p) in schema["properties"].as_object().into_iter().flatten() {
        let ty = type_cell(p);
        let optional = if required.contains(&field.as_str()) {
            ""
        } else {
            " (optional)"
        };
        let _ = writeln!(
            page,
            "<tr><td><code>{}</code>{optional}</td><td>{ty}</td><td>{}</td></tr>",
            escape(field),
            inline_code(p["description"].as_str().unwrap_or_default())
        );
    }
    page.push_str("</table>\n</section>\n");
}

/// A property's type as HTML: a link to a body schema (`LagSummary`, `WorkerMetrics | null`),
/// or [`type_of`]'s text.
fn type_cell(p: &Value) -> String {
    let link = |target: &str| {
        format!(
            "<a href=\"#schema-{}\">{}</a>",
            escape(target),
            escape(target)
        )
    };
    if let Some(target) = ref_name(p) {
        return link(target);
    }
    if let Some(options) = p["anyOf"].as_array() {
        let parts: Vec<String> = options
            .iter()
            .map(|o| ref_name(o).map_or_else(|| escape(&type_of(o)), link))
            .collect();
        return parts.join(" | ");
    }
    escape(&type_of(p))
}

/// A short type for a property schema: `integer`, `string | null`, `array of integer`, an
/// enumeration.
fn type_of(p: &Value) -> String {
    if let Some(values) = p["enum"].as_array() {
        let values: Vec<String> = values.iter().map(Value::to_string).collect();
        return format!("one of {}", values.join(", "));
    }
    let ty = match &p["type"] {
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "object".into(),
    };
    match p.get("items") {
        Some(items) => format!("{ty} of {}", type_of(items)),
        None if p.get("additionalProperties").is_some_and(Value::is_object) => {
            format!("map to {}", type_of(&p["additionalProperties"]))
        }
        None => ty,
    }
}

/// Escapes text for HTML and XML alike (element text and quoted attribute values).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes `s` and sets its `code spans` in `<code>`.
fn inline_code(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len().is_multiple_of(2) {
        // An unpaired backtick: no spans, just text.
        return escape(s);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            if !i.is_multiple_of(2) {
                format!("<code>{}</code>", escape(part))
            } else {
                escape(part)
            }
        })
        .collect()
}

const STYLE: &str = "<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; color: #1b1b1b; }
code { font-family: ui-monospace, monospace; background: #f2f2f2; padding: 0 0.2em; }
section { border-top: 1px solid #ccc; margin-top: 1.5rem; }
.method { display: inline-block; min-width: 3.5em; padding: 0.1em 0.4em; background: #224e8a; color: #fff; font-size: 0.8em; text-align: center; }
.summary { font-weight: 600; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
form.try { background: #f6f8fb; border: 1px solid #d5dde8; padding: 0.5rem; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
form.try input[type=number] { width: 14em; }
</style>
";

/// Builds the URL of a form whose parameters do not all go where plain HTML puts them: path
/// parameters into the path template, the others into the query string (also for a POST).
/// Written without `<` and `&`, so the page stays well-formed XML without a CDATA section.
const SCRIPT: &str = "<script>
function send(form) {
  var path = form.getAttribute('data-path');
  var query = new URLSearchParams();
  for (const el of form.elements) {
    if (!el.name) { continue; }
    var slot = '{' + el.name + '}';
    if (path.indexOf(slot) === -1) { query.append(el.name, el.value); }
    else { path = path.replace(slot, encodeURIComponent(el.value)); }
  }
  var url = query.toString() === '' ? path : path + '?' + query.toString();
  if (form.method === 'get') { window.location.href = url; return false; }
  form.action = url;
  return true;
}
</script>
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Endpoint;
    use crate::openapi::document;
    use crate::openapi::tests::facts;
    use serde_json::json;
    use std::collections::BTreeSet;

    #[test]
    fn docs_is_well_formed_and_names_every_path_with_a_form() {
        let doc = document(&facts(1000));
        let page = docs_page(&doc);
        let options = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..roxmltree::ParsingOptions::default()
        };
        let html = roxmltree::Document::parse_with_options(&page, options)
            .unwrap_or_else(|e| panic!("not well-formed: {e}"));
        let text: String = html
            .descendants()
            .filter_map(|n| n.text())
            .collect::<Vec<_>>()
            .join(" ");
        let forms: Vec<roxmltree::Node<'_, '_>> = html
            .descendants()
            .filter(|n| n.has_tag_name("form"))
            .collect();
        // Every link inside the page leads somewhere on it.
        let ids: BTreeSet<&str> = html
            .descendants()
            .filter_map(|n| n.attribute("id"))
            .collect();
        for href in html.descendants().filter_map(|n| n.attribute("href")) {
            if let Some(id) = href.strip_prefix('#') {
                assert!(ids.contains(id), "a link to #{id}, which is not there");
            }
        }
        assert!(page.contains("<a href=\"#schema-WorkerMetrics\">WorkerMetrics</a> | null"));
        for e in Endpoint::all() {
            assert!(text.contains(e.path()), "{} is named", e.path());
            let form = forms
                .iter()
                .find(|f| f.attribute("action") == Some(e.path()))
                .unwrap_or_else(|| panic!("a form for {}", e.path()));
            let method = form.attribute("method").expect("method");
            assert!(method.eq_ignore_ascii_case(e.method()), "{}", e.path());
            let names: Vec<&str> = form
                .descendants()
                .filter_map(|n| n.attribute("name"))
                .collect();
            if let Endpoint::Strategy(s) = e {
                assert_eq!(names, s.parameters(), "{}", e.path());
            }
        }
        assert_eq!(forms.len(), Endpoint::all().count());
        // Nothing is fetched: no external script, style sheet, image or frame.
        for n in html.descendants() {
            assert!(n.attribute("src").is_none(), "{:?}", n.tag_name());
            if n.has_tag_name("link") {
                panic!("a <link> element");
            }
        }
    }

    #[test]
    fn docs_escapes_what_it_quotes() {
        let mut doc = document(&facts(1000));
        doc["info"]["description"] = json!("a <b> & \"c\" `<i>`");
        let page = docs_page(&doc);
        assert!(page.contains("a &lt;b&gt; &amp; &quot;c&quot; <code>&lt;i&gt;</code>"));
        assert_eq!(escape("<'&\">"), "&lt;&#39;&amp;&quot;&gt;");
        assert_eq!(inline_code("a `b` c `"), "a `b` c `");
    }
}
