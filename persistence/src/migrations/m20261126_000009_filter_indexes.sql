-- Every filter a list offers has an index led by the filtered column; these were missing
-- (persistence/tests/plans.rs checks the schema and the plans). Without them an allocation
-- list by EU contribution, or the audit trail by type, actor, operation or time, walked its
-- ordering index and tested every row until the page was full: the whole table when little
-- matched.

CREATE INDEX ix_allocation_eu ON allocation (eu_contribution_cents);
CREATE INDEX ix_programme_nuts ON programme (nuts_code);
CREATE INDEX ix_audit_type ON audit_event (entity_type, seq);
CREATE INDEX ix_audit_actor ON audit_event (actor_id, seq);
CREATE INDEX ix_audit_operation ON audit_event (operation, seq);
CREATE INDEX ix_audit_time ON audit_event (occurred_at, seq);
