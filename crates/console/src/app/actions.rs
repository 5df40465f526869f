//! Which actions are offered, why not when they are not, and what each dialog says it
//! will do. Every refusal is a sentence the user can act on.

use fleetdeck_api::{
    Approval, ApprovalKind, Campaign, DrillState, Environment, Severity, TargetState,
    text::sanitize_line,
};

use super::App;
use super::dialogs::{ActionDialog, ActionKind, Fact};
use super::view::{DetailKind, Pane};
use crate::message::ConnState;
use crate::ui::format::{ago, count, duration};

impl App {
    /// The id the action would apply to: the open detail view's item, else the focused
    /// pane's selection.
    pub(crate) fn subject_for(&self, kind: ActionKind) -> Option<String> {
        if let Some(detail) = &self.detail {
            return match (&detail.kind, kind) {
                (DetailKind::Approval(a), ActionKind::Approve | ActionKind::Reject) => {
                    Some(a.id.clone())
                }
                (
                    DetailKind::Campaign { id },
                    ActionKind::Pause | ActionKind::Resume | ActionKind::Rollback,
                ) => Some(id.clone()),
                (DetailKind::Database { id, .. }, ActionKind::Drill) => Some(id.clone()),
                _ => None,
            };
        }
        match (self.focus, kind) {
            (Pane::Approvals, ActionKind::Approve | ActionKind::Reject) => {
                self.selected_id(Pane::Approvals)
            }
            (Pane::Rings, ActionKind::Pause | ActionKind::Resume | ActionKind::Rollback) => {
                self.selected_id(Pane::Rings)
            }
            (Pane::Fleet | Pane::Evidence, ActionKind::Drill) => self.selected_id(self.focus),
            _ => None,
        }
    }

    fn approval(&self, id: &str) -> Option<&Approval> {
        if let Some(a) = self.data.approvals.get(id) {
            return Some(a);
        }
        match self.detail.as_ref().map(|d| &d.kind) {
            Some(DetailKind::Approval(a)) if a.id == id => Some(a),
            _ => None,
        }
    }

    /// Whether the user's roles and the item's state allow `kind` on `id`; else why not.
    pub(crate) fn permitted(&self, kind: ActionKind, id: &str) -> Result<(), String> {
        let who = self
            .whoami
            .as_ref()
            .ok_or("not signed in yet: no actions until the server answers")?;
        let roles = || {
            let names: Vec<&str> = who.roles.iter().map(|r| r.as_str()).collect();
            if names.is_empty() {
                "no roles".to_string()
            } else {
                names.join(", ")
            }
        };
        match kind {
            ActionKind::Approve | ActionKind::Reject => {
                if !who.can_approve() {
                    return Err(format!(
                        "{} can't {}: your roles ({}) can't decide approvals; that needs \
                         approver or admin",
                        who.user,
                        kind.label().to_lowercase(),
                        roles()
                    ));
                }
                let a = self
                    .approval(id)
                    .ok_or_else(|| format!("approval {id} is no longer in the queue"))?;
                a.may_decide(&who.user)
                    .map_err(|why| format!("can't decide {id}: {why}"))
            }
            ActionKind::Pause | ActionKind::Resume | ActionKind::Rollback => {
                if !who.can_operate() {
                    return Err(format!(
                        "{} can't {}: your roles ({}) can't operate campaigns; that needs \
                         operator or admin",
                        who.user,
                        kind.label().to_lowercase(),
                        roles()
                    ));
                }
                let c = self
                    .data
                    .campaigns
                    .get(id)
                    .ok_or_else(|| format!("campaign {id} is not known here"))?;
                let (ok, needs) = match kind {
                    ActionKind::Pause => (c.state.can_pause(), "running or awaiting approval"),
                    ActionKind::Resume => (c.state.can_resume(), "paused"),
                    _ => (
                        c.state.can_rollback(),
                        "running, paused or awaiting approval",
                    ),
                };
                if ok {
                    Ok(())
                } else {
                    Err(format!(
                        "{id} is {}: {} needs it {needs}",
                        c.state.as_str().replace('_', " "),
                        kind.label().to_lowercase()
                    ))
                }
            }
            ActionKind::Drill => {
                if !who.can_operate() {
                    return Err(format!(
                        "{} can't start drills: your roles ({}) need operator or admin",
                        who.user,
                        roles()
                    ));
                }
                if self.data.databases.get(id).is_none() {
                    return Err(format!("database {id} is not known here"));
                }
                let running = self
                    .data
                    .evidence
                    .get(id)
                    .and_then(|e| e.latest.as_ref())
                    .filter(|d| d.state == DrillState::Running);
                match running {
                    Some(d) => Err(format!(
                        "a drill of {id} is already running (started {})",
                        ago(self.now(), d.started_at)
                    )),
                    None => Ok(()),
                }
            }
        }
    }

    /// In a read-only session nothing is sent; the refusal says why and how to change it.
    pub(crate) fn read_only_gate(&self, kind: ActionKind) -> Result<(), String> {
        if !self.read_only {
            return Ok(());
        }
        let verb = kind.label().to_lowercase();
        Err(if self.session.read_only_forced {
            format!("READ-ONLY: this context is read-only, so {verb} is never sent from here")
        } else {
            format!("READ-ONLY: {verb} is not sent while read-only is on (:readonly turns it off)")
        })
    }

    /// Actions are refused while disconnected or when the data is too old to act on.
    pub(crate) fn connection_gate(&self) -> Result<(), String> {
        if !self.loaded {
            return Err("no data from the server yet: actions wait for it".into());
        }
        match &self.conn {
            ConnState::Connecting => {
                return Err("not connected yet: actions wait for the server".into());
            }
            ConnState::Disconnected { since, reason, .. } => {
                return Err(format!(
                    "disconnected from the server for {} ({}): actions wait until it is back",
                    duration(self.now() - *since),
                    sanitize_line(reason)
                ));
            }
            ConnState::Connected { .. } => {}
        }
        let age = self.data_age();
        let limit =
            chrono::Duration::from_std(self.config.stale_after).unwrap_or(chrono::Duration::MAX);
        if age > limit {
            return Err(format!(
                "data is {} old (limit {}): actions wait for fresh data",
                duration(age),
                duration(limit)
            ));
        }
        Ok(())
    }

    /// Builds the dialog for `kind` on the current subject, or says why not.
    pub(crate) fn prepare(&self, kind: ActionKind) -> Result<ActionDialog, String> {
        let id = self.subject_for(kind).ok_or_else(|| {
            let verb = kind.label().to_lowercase();
            match self.focus {
                _ if self.detail.is_some() => format!("nothing here to {verb}"),
                pane if self.pane_len(pane) == 0 => {
                    format!("the {} pane is empty: nothing to {verb} yet", pane.title())
                }
                _ => format!("nothing selected to {verb}: select an item first"),
            }
        })?;
        // One request per item at a time: a second would race the first.
        if let Some(waiting) = self
            .in_flight
            .values()
            .find(|r| super::send::target_of(&r.action) == id)
        {
            return Err(format!(
                "the {} request for {id} is still waiting for the server's answer",
                waiting.action.verb()
            ));
        }
        self.prepare_for(kind, id)
    }

    /// The dialog for `kind` on `id` as the item is now, or why not.
    pub(crate) fn prepare_for(&self, kind: ActionKind, id: String) -> Result<ActionDialog, String> {
        self.permitted(kind, &id)?;
        self.connection_gate()?;
        self.describe(kind, id)
            .ok_or_else(|| "it vanished".to_string())
    }

    /// The dialog for `kind` on `id` as the item is now, allowed or not; `None` when
    /// the item is not here.
    pub(crate) fn describe(&self, kind: ActionKind, id: String) -> Option<ActionDialog> {
        Some(match kind {
            ActionKind::Approve | ActionKind::Reject => {
                let a = self.approval(&id)?;
                let (version, facts) = (a.version, self.approval_facts(kind, a));
                ActionDialog::new(kind, id, version, facts, false)
            }
            ActionKind::Pause | ActionKind::Resume | ActionKind::Rollback => {
                let c = self.data.campaigns.get(&id)?;
                let typed = kind == ActionKind::Rollback && c.touches_prod();
                let (version, facts) = (c.version, self.campaign_facts(kind, c));
                ActionDialog::new(kind, id, version, facts, typed)
            }
            ActionKind::Drill => {
                let row = self.data.databases.get(&id)?;
                let (version, facts) = (row.db.version, self.drill_facts(&row.db.id));
                ActionDialog::new(kind, id, version, facts, false)
            }
        })
    }

    fn approval_facts(&self, kind: ActionKind, a: &Approval) -> Vec<Fact> {
        let b = a.blast_radius;
        let so_far = a.approvals_so_far();
        let outcome = match kind {
            ActionKind::Approve if so_far + 1 >= a.approvals_required => {
                format!(
                    "{so_far} of {} so far; yours completes it",
                    a.approvals_required
                )
            }
            ActionKind::Approve => format!(
                "{so_far} of {} so far; yours makes {}",
                a.approvals_required,
                so_far + 1
            ),
            _ => format!(
                "{so_far} of {} so far; a rejection ends the request",
                a.approvals_required
            ),
        };
        let mut facts = vec![
            fact("Subject", sanitize_line(&a.subject).into_owned(), false),
            fact(
                "Kind",
                match a.kind {
                    ApprovalKind::RingPromotion => "ring promotion",
                    ApprovalKind::PolicyException => "policy exception",
                    ApprovalKind::Unknown => "unknown kind",
                }
                .into(),
                false,
            ),
            fact(
                "Requested",
                format!(
                    "by {}: {}",
                    sanitize_line(&a.requested_by),
                    sanitize_line(&a.reason)
                ),
                false,
            ),
            fact(
                "Blast radius",
                format!(
                    "{} · {} prod · {} tier 1",
                    count(b.databases as usize, "database"),
                    b.prod,
                    b.tier1
                ),
                b.prod > 0 || b.tier1 > 0,
            ),
            fact("Approvals", outcome, false),
        ];
        // The worst findings in words; the approval's detail view lists them all.
        let mut findings: Vec<_> = a.findings.iter().collect();
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        for f in findings.iter().take(2) {
            facts.push(fact(
                "Finding",
                format!(
                    "{} {}",
                    match f.severity {
                        Severity::Critical => "critical:",
                        Severity::Warning => "warning:",
                        _ => "info:",
                    },
                    sanitize_line(&f.message)
                ),
                f.severity == Severity::Critical,
            ));
        }
        if findings.len() > 2 {
            facts.push(fact(
                "",
                format!(
                    "and {} more (see the approval's details)",
                    findings.len() - 2
                ),
                false,
            ));
        }
        facts.push(fact("Expires", self.until(a.expires_at), false));
        facts
    }

    fn campaign_facts(&self, kind: ActionKind, c: &Campaign) -> Vec<Fact> {
        let matching = |pred: &dyn Fn(TargetState) -> bool| {
            let (mut n, mut prod, mut tier1) = (0, 0, 0);
            for t in c.rings.iter().flat_map(|r| &r.targets) {
                if pred(t.state) {
                    n += 1;
                    if let Some(row) = self.data.databases.get(&t.database_id) {
                        prod += usize::from(row.db.environment == Environment::Prod);
                        tier1 += usize::from(row.db.tier == 1);
                    }
                }
            }
            (n, prod, tier1)
        };
        let waiting = |s: TargetState| matches!(s, TargetState::Pending | TargetState::Blocked);
        let (blast, severe) = match kind {
            ActionKind::Pause => {
                let (n, p, t) = matching(&waiting);
                let flying = matching(&|s: TargetState| s.is_in_flight()).0;
                (
                    format!(
                        "holds {} ({p} prod, {t} tier 1); targets in flight ({flying}) \
                         finish their current step",
                        count(n, "waiting target")
                    ),
                    false,
                )
            }
            ActionKind::Resume => {
                let (n, p, t) = matching(&waiting);
                (
                    format!(
                        "dispatch restarts for {} ({p} prod, {t} tier 1)",
                        count(n, "waiting target")
                    ),
                    p > 0,
                )
            }
            _ => {
                let patched = |s: TargetState| {
                    matches!(s, TargetState::Done | TargetState::Failed) || s.is_in_flight()
                };
                let (n, p, t) = matching(&patched);
                (
                    format!(
                        "reverts {} ({p} prod, {t} tier 1) in reverse ring \
                         order: disable, revert, repair, reconcile",
                        count(n, "patched target")
                    ),
                    p > 0 || c.touches_prod(),
                )
            }
        };
        let mut facts = vec![
            fact(
                "Campaign",
                format!(
                    "{} → {}",
                    sanitize_line(&c.title),
                    sanitize_line(&c.target_version)
                ),
                false,
            ),
            fact(
                "State",
                match c.current_ring {
                    Some(r) => format!(
                        "{} at ring {r} of {}",
                        c.state.as_str().replace('_', " "),
                        c.rings.len()
                    ),
                    None => c.state.as_str().replace('_', " "),
                },
                false,
            ),
            fact("Blast radius", blast, severe),
        ];
        if let Some(reason) = &c.paused_reason {
            facts.push(fact("Paused", sanitize_line(reason).into_owned(), false));
        }
        if kind == ActionKind::Rollback && c.touches_prod() {
            facts.push(fact(
                "Production",
                "this campaign covers production rings".into(),
                true,
            ));
        }
        facts
    }

    fn drill_facts(&self, id: &str) -> Vec<Fact> {
        let mut facts = Vec::new();
        if let Some(row) = self.data.databases.get(id) {
            let d = &row.db;
            facts.push(fact(
                "Database",
                format!(
                    "{} {} · {} · tier {}",
                    sanitize_line(&d.engine),
                    sanitize_line(&d.engine_version),
                    d.environment.as_str(),
                    d.tier
                ),
                false,
            ));
        }
        facts.push(fact(
            "Blast radius",
            "restores the latest backup into an isolated place; the database itself is not \
             touched"
                .into(),
            false,
        ));
        if let Some(e) = self.data.evidence.get(id) {
            let last = e
                .last_good_at
                .map_or("never".to_string(), |t| ago(self.now(), t));
            facts.push(fact(
                "Evidence",
                format!(
                    "{}; last good drill {last}; policy every {}",
                    e.freshness.as_str(),
                    count(e.interval_days as usize, "day")
                ),
                e.freshness.needs_exception(),
            ));
        }
        facts
    }

    /// "in 23m" or "expired 2m ago".
    fn until(&self, t: chrono::DateTime<chrono::Utc>) -> String {
        let left = t - self.now();
        if left < chrono::Duration::zero() {
            format!("expired {} ago", duration(-left))
        } else {
            format!("in {}", duration(left))
        }
    }
}

fn fact(label: &'static str, value: String, severe: bool) -> Fact {
    Fact {
        label,
        value,
        severe,
    }
}
