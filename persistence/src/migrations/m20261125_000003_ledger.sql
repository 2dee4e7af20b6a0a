-- Funding ledger: every budget of an allocation (the original and each revision, IATI's
-- Original/Revised) and its payments (pre-financing, interim, balance; a recovery is a
-- negative entry). Both tables are append-only: corrections are new rows.

CREATE TABLE allocation_budget (
    id                          {uuid}       NOT NULL PRIMARY KEY,
    allocation_id               {uuid}       NOT NULL CONSTRAINT fk_budget_allocation REFERENCES allocation (id),
    kind                        VARCHAR(16)  NOT NULL,
    eligible_cost_cents         BIGINT       NOT NULL,
    eu_contribution_cents       BIGINT       NOT NULL,
    national_contribution_cents BIGINT       NOT NULL,
    reason                      VARCHAR(1000),
    recorded_at                 {timestamp}  NOT NULL,
    CONSTRAINT ck_budget_kind CHECK (kind IN ('ORIGINAL', 'REVISED'))
);
CREATE INDEX ix_budget_allocation ON allocation_budget (allocation_id, recorded_at);

CREATE TABLE payment (
    id            {uuid}       NOT NULL PRIMARY KEY,
    allocation_id {uuid}       NOT NULL CONSTRAINT fk_payment_allocation REFERENCES allocation (id),
    kind          VARCHAR(16)  NOT NULL,
    amount_cents  BIGINT       NOT NULL,
    paid_on       DATE         NOT NULL,
    reference     VARCHAR(120),
    created_at    {timestamp}  NOT NULL,
    CONSTRAINT ck_payment_kind CHECK (kind IN ('PRE_FINANCING', 'INTERIM', 'BALANCE', 'RECOVERY')),
    CONSTRAINT ck_payment_sign CHECK ((kind = 'RECOVERY' AND amount_cents < 0) OR (kind <> 'RECOVERY' AND amount_cents > 0))
);
CREATE INDEX ix_payment_allocation ON payment (allocation_id, id);
