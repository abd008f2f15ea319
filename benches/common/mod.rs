//! What both benchmark programs share: the records they fill stores with.

/// A reference-format record of realistic size (about 600 bytes).
pub fn record(i: usize, run_at: &str) -> String {
    format!(
        concat!(
            r#"{{"id":"task_20260408_163500_{i:06}","created_at":"2026-04-08T16:00:00Z","#,
            r#""run_at":"{run_at}","type":"deferred_task","intent":"resume_task","#,
            r#""context":{{"summary":"Resume the architecture review, part {i}","#,
            r#""key_points":["Review already narrowed to scheduler semantics","Need a decision on callback vs fresh"],"#,
            r#""artifacts":["/home/user/notes/review-{i}.md"],"constraints":["No reliance on prior chat memory"]}},"#,
            r#""execution":{{"mode":"fresh","prompt_template":"Continue the review and produce the next recommendation.","aura_level":"low"}},"#,
            r#""status":"scheduled","attempts":0,"max_retries":0,"reorient_requested":false,"#,
            r#""reorient":{{"requested":false,"project":null,"explicit_context_file":null}}}}"#
        ),
        i = i,
        run_at = run_at
    )
}
