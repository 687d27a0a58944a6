//! What the sandbox's HTML pages share: their style sheet, and escaping text into them.

/// The sandbox pages' look: plain, and apart from the console's, as a provider's would be.
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f1ea;color:#222;margin:0;padding:2rem}\
.card{max-width:52rem;margin:0 auto 1.5rem;background:#fff;border:1px solid #ddd;border-radius:8px;padding:1.5rem}\
h1{margin-top:0;color:#7a4b00}label{display:block;margin:.5rem 0}input{font:inherit;padding:.3rem;margin-left:.3rem;max-width:100%;box-sizing:border-box}input[type=number]{width:6rem}\
button{font:inherit;padding:.4rem .9rem;background:#7a4b00;color:#fff;border:0;border-radius:4px;cursor:pointer}\
button.secondary{background:#888}.buttons{display:flex;gap:.5rem}.muted{color:#666}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem;border-bottom:1px solid #eee}\
code{background:#f0ede6;padding:0 .2rem}.notice{background:#fff6d6;border-color:#e0c060}\
form.inline{display:flex;gap:.3rem;align-items:center}";

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    html_escape::encode_double_quoted_attribute(text).into_owned()
}
