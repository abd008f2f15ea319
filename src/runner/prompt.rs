//! The prompt artifact (SPEC §8): the rehydration text a future agent starts from.

use crate::record::Task;

/// Renders the artifact exactly as the reference does, one trailing newline.
pub fn render(task: &Task) -> String {
    let mut text = format!(
        "You are resuming a deferred task.\n\
         \n\
         Task ID: {id}\n\
         Intent: {intent}\n\
         Mode: {mode}\n\
         \n\
         Summary:\n\
         {summary}\n\
         \n\
         Key Points:\n\
         {key_points}\n\
         \n\
         Artifacts:\n\
         {artifacts}\n\
         \n\
         Constraints:\n\
         {constraints}\n\
         \n\
         Task:\n\
         {task}",
        id = task.id,
        intent = task.intent,
        mode = task.execution.mode,
        summary = task.context.summary,
        key_points = bullets(&task.context.key_points),
        artifacts = bullets(&task.context.artifacts),
        constraints = bullets(&task.context.constraints),
        task = task.prompt_text(),
    );
    // The reference builds the text with `$(...)`, which drops trailing newlines, then
    // prints it with exactly one.
    text.truncate(text.trim_end_matches('\n').len());
    text.push('\n');
    text
}

fn bullets(items: &[String]) -> String {
    if items.is_empty() {
        return "- (none)".to_string();
    }
    items
        .iter()
        .map(|i| format!("- {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_contract() {
        let line = r#"{"id":"demo_1","created_at":"2026-04-08T16:00:00Z","run_at":"2026-04-08T16:00:00Z","status":"executing","intent":"notify","context":{"summary":"Check build","key_points":["a","b"],"artifacts":[],"constraints":["c"]},"execution":{"mode":"callback","prompt_template":"Do it."}}"#;
        let task = Task::from_json(line.as_bytes()).expect("task");
        assert_eq!(
            render(&task),
            "You are resuming a deferred task.\n\nTask ID: demo_1\nIntent: notify\nMode: callback\n\n\
             Summary:\nCheck build\n\nKey Points:\n- a\n- b\n\nArtifacts:\n- (none)\n\n\
             Constraints:\n- c\n\nTask:\nDo it.\n"
        );
    }
}
