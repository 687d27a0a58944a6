//! The tag chips input shared by the authenticate form and the instance editor: type a tag, Enter adds it,
//! × removes it.

use leptos::prelude::*;

/// Adds `typed` to `tags` unless it is blank or already there.
fn add_tag(tags: &mut Vec<String>, typed: &str) {
    let tag = typed.trim();
    if !tag.is_empty() && !tags.iter().any(|existing| existing == tag) {
        tags.push(tag.to_owned());
    }
}

#[component]
pub fn TagInput(tags: RwSignal<Vec<String>>, #[prop(into)] label: String) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let on_key = move |event: leptos::ev::KeyboardEvent| {
        if event.key() == "Enter" {
            event.prevent_default();
            tags.update(|tags| add_tag(tags, &typed.get_untracked()));
            typed.set(String::new());
        }
    };
    view! {
        <div class="tag-input">
            <ul class="chips" aria-label="Tags">
                <For
                    each=move || tags.get()
                    key=|tag: &String| tag.clone()
                    children=move |tag: String| {
                        let removed = tag.clone();
                        view! {
                            <li class="chip tag-chip">
                                {tag.clone()}
                                <button
                                    type="button"
                                    class="chip-remove"
                                    aria-label=format!("Remove tag {tag}")
                                    on:click=move |_| tags.update(|tags| tags.retain(|existing| *existing != removed))
                                >"×"</button>
                            </li>
                        }
                    }
                />
            </ul>
            <input
                type="text"
                aria-label=label
                placeholder="Type a tag, then Enter"
                prop:value=move || typed.get()
                on:input=move |event| typed.set(event_target_value(&event))
                on:keydown=on_key
            />
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::add_tag;

    #[test]
    fn tags_are_trimmed_and_not_repeated() {
        let mut tags = vec!["blue".to_owned()];
        for typed in [" green ", "blue", "   ", "green"] {
            add_tag(&mut tags, typed);
        }
        assert_eq!(tags, ["blue", "green"]);
    }
}
