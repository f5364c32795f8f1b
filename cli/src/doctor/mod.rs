//! `timmybot doctor`: checks a deployment, on either store, and prints a checklist: ✓ or ✗
//! for each check and, for each ✗, the fix. `--json` prints the same for scripts. The exit
//! status is non-zero when anything failed.
//!
//! A check that cannot run because an earlier one failed (no Discord checks without a valid
//! token) is skipped, not failed: each broken setup fails its own line.

mod checks;

use std::io::Write;

use serde::Serialize;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// Not needed here, or optional and not set up: said, not counted.
    Info,
    /// Could not run because something it needs failed.
    Skip,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub section: &'static str,
    pub name: String,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// The checks, in the order they are printed.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub mode: &'static str,
    pub checks: Vec<Check>,
}

impl Report {
    fn push(
        &mut self,
        section: &'static str,
        name: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
        fix: Option<String>,
    ) {
        self.checks.push(Check {
            section,
            name: name.into(),
            status,
            detail: detail.into(),
            fix,
        });
    }

    pub fn pass(
        &mut self,
        section: &'static str,
        name: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(section, name, Status::Pass, detail, None);
    }

    pub fn fail(
        &mut self,
        section: &'static str,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(section, name, Status::Fail, detail, Some(fix.into()));
    }

    pub fn info(
        &mut self,
        section: &'static str,
        name: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(section, name, Status::Info, detail, None);
    }

    pub fn skip(
        &mut self,
        section: &'static str,
        name: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(section, name, Status::Skip, detail, None);
    }

    pub fn failed(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .count()
    }

    fn write_text(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out, "TimmyBot doctor ({})", self.mode)?;
        let mut section = "";
        for c in &self.checks {
            if c.section != section {
                section = c.section;
                writeln!(out, "\n{section}")?;
            }
            let mark = match c.status {
                Status::Pass => "✓",
                Status::Fail => "✗",
                Status::Info => "·",
                Status::Skip => "–",
            };
            writeln!(out, "  {mark} {}: {}", c.name, c.detail)?;
            if let Some(fix) = &c.fix {
                writeln!(out, "      fix: {fix}")?;
            }
        }
        let passed = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Pass)
            .count();
        writeln!(out, "\n{passed} passed, {} failed.", self.failed())
    }
}

/// Runs every check and prints the report; `Err` when a check failed, for the exit status.
pub async fn run(json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let report = checks::run_all().await;
    if json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        report.write_text(out)?;
    }
    match report.failed() {
        0 => Ok(()),
        n => anyhow::bail!("{n} check(s) failed"),
    }
}
