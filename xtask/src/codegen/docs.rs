//! Schema descriptions as rustdoc prose.
//!
//! The descriptions are Markdown written for the protocol's documentation site. rustdoc reads
//! an indented line after a blank one, or an unlabelled code fence, as a Rust code block and
//! compiles it as a doctest, and nothing in a description is Rust. So, outside fences, every
//! line loses its leading indentation, and every fence without a language is labelled `text`.
//! Text inside fences is left as written.
//!
//! A multi-line doc string is also split into one `#[doc]` per line: prettyplease prints a
//! multi-line one as an indented `/** ... */` block, and rustdoc reads that indentation as a
//! code block again.

use syn::visit_mut::VisitMut;

use super::partition::doc_text;

/// Rewrites every doc attribute in `file` (see the module docs).
pub(crate) fn as_prose(file: &mut syn::File) {
    Prose.visit_file_mut(file);
}

struct Prose;

/// Replaces each doc attribute in `attrs` by one per line of its rewritten text.
fn split_docs(attrs: &mut Vec<syn::Attribute>) {
    let mut out = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        let Some(text) = doc_text(&attr) else {
            out.push(attr);
            continue;
        };
        for line in rewrite(&text).split('\n') {
            out.push(syn::parse_quote!(#[doc = #line]));
        }
    }
    *attrs = out;
}

impl VisitMut for Prose {
    fn visit_item_struct_mut(&mut self, node: &mut syn::ItemStruct) {
        split_docs(&mut node.attrs);
        syn::visit_mut::visit_item_struct_mut(self, node);
    }
    fn visit_item_enum_mut(&mut self, node: &mut syn::ItemEnum) {
        split_docs(&mut node.attrs);
        syn::visit_mut::visit_item_enum_mut(self, node);
    }
    fn visit_item_type_mut(&mut self, node: &mut syn::ItemType) {
        split_docs(&mut node.attrs);
        syn::visit_mut::visit_item_type_mut(self, node);
    }
    fn visit_item_mod_mut(&mut self, node: &mut syn::ItemMod) {
        split_docs(&mut node.attrs);
        syn::visit_mut::visit_item_mod_mut(self, node);
    }
    fn visit_item_impl_mut(&mut self, node: &mut syn::ItemImpl) {
        split_docs(&mut node.attrs);
        syn::visit_mut::visit_item_impl_mut(self, node);
    }
    fn visit_impl_item_fn_mut(&mut self, node: &mut syn::ImplItemFn) {
        split_docs(&mut node.attrs);
        syn::visit_mut::visit_impl_item_fn_mut(self, node);
    }
    fn visit_field_mut(&mut self, node: &mut syn::Field) {
        split_docs(&mut node.attrs);
        syn::visit_mut::visit_field_mut(self, node);
    }
    fn visit_variant_mut(&mut self, node: &mut syn::Variant) {
        split_docs(&mut node.attrs);
        syn::visit_mut::visit_variant_mut(self, node);
    }
}

/// One doc string, rewritten.
fn rewrite(text: &str) -> String {
    let mut out = Vec::new();
    let mut fence: Option<&str> = None;
    for line in text.split('\n') {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(marker)) => {
                fence = Some(marker);
                let label = trimmed[marker.len()..].trim();
                if label.is_empty() {
                    out.push(format!("{marker}text"));
                } else {
                    out.push(trimmed.to_owned());
                }
            }
            (Some(open), Some(marker))
                if open == marker && trimmed[marker.len()..].trim().is_empty() =>
            {
                fence = None;
                out.push(trimmed.to_owned());
            }
            (Some(_), _) => out.push(line.to_owned()),
            (None, None) => out.push(trimmed.to_owned()),
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn indented_lines_become_prose_and_bare_fences_text() {
        let text = "Intro.\n\n    indented = code?\n\n```\n  {\"a\": 1}\n```\n\n```json\n{}\n```";
        assert_eq!(
            rewrite(text),
            "Intro.\n\nindented = code?\n\n```text\n  {\"a\": 1}\n```\n\n```json\n{}\n```"
        );
    }

    #[test]
    fn an_unclosed_fence_keeps_its_text() {
        assert_eq!(rewrite("a\n```\n    b"), "a\n```text\n    b");
    }
}
