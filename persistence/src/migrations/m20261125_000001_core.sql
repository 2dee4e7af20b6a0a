-- The registry's core tables. Written once for both databases: {uuid}, {timestamp} and
-- {bool} are replaced by each backend's type (see migrations/mod.rs). Every constraint has a
-- name, because persistence/src/error.rs turns violations into user errors by that name.

CREATE TABLE actor (
    id            {uuid}        NOT NULL PRIMARY KEY,
    kind          VARCHAR(32)   NOT NULL,
    name          VARCHAR(300)  NOT NULL,
    name_folded   TEXT          NOT NULL,
    country       CHAR(2)       NOT NULL,
    nuts_code     VARCHAR(5),
    nuts_version  INTEGER,
    lau_code      VARCHAR(15),
    lau_year      INTEGER,
    population    BIGINT,
    parent_id     {uuid}        CONSTRAINT fk_actor_parent REFERENCES actor (id),
    pic           VARCHAR(9),
    vat_number    VARCHAR(16),
    wikidata_id   VARCHAR(16),
    website       VARCHAR(2048),
    email         VARCHAR(254),
    created_at    {timestamp}   NOT NULL,
    updated_at    {timestamp}   NOT NULL,
    CONSTRAINT ck_actor_kind CHECK (kind IN ('MUNICIPALITY', 'REGION', 'NATIONAL_AUTHORITY',
        'NGO', 'COMMUNITY_GROUP', 'NETWORK', 'EU_INSTITUTION', 'INTERNATIONAL_ORGANISATION')),
    CONSTRAINT ck_actor_nuts_pair CHECK ((nuts_code IS NULL) = (nuts_version IS NULL)),
    CONSTRAINT ck_actor_lau_pair CHECK ((lau_code IS NULL) = (lau_year IS NULL)),
    CONSTRAINT ck_actor_lau_municipality CHECK (lau_code IS NULL OR kind = 'MUNICIPALITY'),
    CONSTRAINT ck_actor_population CHECK (population IS NULL OR population >= 0),
    CONSTRAINT ck_actor_not_own_parent CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE UNIQUE INDEX uq_actor_pic ON actor (pic);
CREATE UNIQUE INDEX uq_actor_wikidata_id ON actor (wikidata_id);
CREATE INDEX ix_actor_name ON actor (name_folded, id);
CREATE INDEX ix_actor_kind ON actor (kind, name_folded, id);
CREATE INDEX ix_actor_country ON actor (country, name_folded, id);
CREATE INDEX ix_actor_nuts ON actor (nuts_code);
CREATE INDEX ix_actor_parent ON actor (parent_id);

CREATE TABLE partnership (
    id                {uuid}        NOT NULL PRIMARY KEY,
    title             VARCHAR(300)  NOT NULL,
    title_folded      TEXT          NOT NULL,
    description       TEXT          NOT NULL,
    kind              VARCHAR(40)   NOT NULL,
    governance_levels VARCHAR(64)   NOT NULL,
    -- The partnership's themes as one sorted key (`HOUSING,HEALTH`), kept by the repository,
    -- so funding summaries group each allocation under exactly one theme combination.
    themes_key        TEXT          NOT NULL DEFAULT '',
    start_date        DATE          NOT NULL,
    end_date          DATE,
    status            VARCHAR(16)   NOT NULL,
    created_at        {timestamp}   NOT NULL,
    updated_at        {timestamp}   NOT NULL,
    CONSTRAINT ck_partnership_kind CHECK (kind IN ('CITY_TO_CITY_MENTORING',
        'REGIONAL_SPONSORSHIP_PROGRAMME', 'MULTISTAKEHOLDER_PLATFORM', 'NETWORK_INITIATIVE',
        'PROJECT_CONSORTIUM')),
    CONSTRAINT ck_partnership_status CHECK (status IN ('DRAFT', 'ACTIVE', 'COMPLETED', 'WITHDRAWN')),
    CONSTRAINT ck_partnership_dates CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE INDEX ix_partnership_title ON partnership (title_folded, id);
CREATE INDEX ix_partnership_start ON partnership (start_date, id);
CREATE INDEX ix_partnership_created ON partnership (created_at, id);
CREATE INDEX ix_partnership_status ON partnership (status);
CREATE INDEX ix_partnership_kind ON partnership (kind);
CREATE INDEX ix_partnership_period ON partnership (start_date, end_date);

CREATE TABLE partnership_theme (
    partnership_id {uuid}      NOT NULL CONSTRAINT fk_theme_partnership REFERENCES partnership (id),
    theme          VARCHAR(64) NOT NULL,
    PRIMARY KEY (partnership_id, theme),
    CONSTRAINT ck_theme CHECK (theme IN ('EDUCATION_AND_TRAINING', 'ACCESS_TO_BASIC_SERVICES',
        'HOUSING', 'EMPLOYMENT', 'LANGUAGE_LEARNING', 'HEALTH',
        'ACTIVE_PARTICIPATION_AND_SOCIAL_INCLUSION', 'COMMUNITY_SPONSORSHIP',
        'RESETTLEMENT_AND_COMPLEMENTARY_PATHWAYS', 'RECEPTION'))
);
CREATE INDEX ix_theme_theme ON partnership_theme (theme, partnership_id);

CREATE TABLE membership (
    id             {uuid}       NOT NULL PRIMARY KEY,
    partnership_id {uuid}       NOT NULL CONSTRAINT fk_membership_partnership REFERENCES partnership (id),
    actor_id       {uuid}       NOT NULL CONSTRAINT fk_membership_actor REFERENCES actor (id),
    roles          VARCHAR(200) NOT NULL,
    is_lead        {bool}       NOT NULL,
    joined_on      DATE         NOT NULL,
    left_on        DATE,
    created_at     {timestamp}  NOT NULL,
    updated_at     {timestamp}  NOT NULL,
    CONSTRAINT ck_membership_dates CHECK (left_on IS NULL OR left_on >= joined_on),
    CONSTRAINT ck_membership_roles CHECK (roles <> '')
);
CREATE UNIQUE INDEX uq_membership_actor ON membership (partnership_id, actor_id);
-- At most one current LEAD per partnership, whatever the clients race to do.
CREATE UNIQUE INDEX uq_membership_one_lead ON membership (partnership_id) WHERE is_lead AND left_on IS NULL;
CREATE INDEX ix_membership_actor ON membership (actor_id, id);
CREATE INDEX ix_membership_partnership ON membership (partnership_id, id);

CREATE TABLE funding_stream (
    id           {uuid}       NOT NULL PRIMARY KEY,
    code         VARCHAR(32)  NOT NULL,
    name         VARCHAR(200) NOT NULL,
    legal_basis  VARCHAR(500) NOT NULL,
    period_start DATE         NOT NULL,
    period_end   DATE         NOT NULL,
    -- ESF+ and ERDF ceilings depend on the category of region: their programmes must state it.
    category_required {bool}  NOT NULL DEFAULT FALSE,
    created_at   {timestamp}  NOT NULL,
    CONSTRAINT ck_stream_period CHECK (period_end >= period_start)
);
CREATE UNIQUE INDEX uq_stream_code ON funding_stream (code);

CREATE TABLE ceiling_rule (
    id              {uuid}       NOT NULL PRIMARY KEY,
    stream_id       {uuid}       NOT NULL CONSTRAINT fk_rule_stream REFERENCES funding_stream (id),
    case_code       VARCHAR(64)  NOT NULL,
    description     VARCHAR(500) NOT NULL,
    max_rate_bp     INTEGER      NOT NULL,
    legal_reference VARCHAR(300) NOT NULL,
    verified        {bool}       NOT NULL,
    note            VARCHAR(1000),
    created_at      {timestamp}  NOT NULL,
    CONSTRAINT ck_rule_rate CHECK (max_rate_bp BETWEEN 0 AND 10000)
);
CREATE UNIQUE INDEX uq_rule_case ON ceiling_rule (stream_id, case_code);

CREATE TABLE programme (
    id                     {uuid}       NOT NULL PRIMARY KEY,
    stream_id              {uuid}       NOT NULL CONSTRAINT fk_programme_stream REFERENCES funding_stream (id),
    code                   VARCHAR(30)  NOT NULL,
    title                  VARCHAR(300) NOT NULL,
    managing_authority_id  {uuid}       NOT NULL CONSTRAINT fk_programme_authority REFERENCES actor (id),
    country                CHAR(2)      NOT NULL,
    nuts_code              VARCHAR(5),
    nuts_version           INTEGER,
    category_case          VARCHAR(64),
    envelope_cents         BIGINT       NOT NULL,
    created_at             {timestamp}  NOT NULL,
    updated_at             {timestamp}  NOT NULL,
    CONSTRAINT ck_programme_envelope CHECK (envelope_cents >= 0),
    CONSTRAINT ck_programme_nuts_pair CHECK ((nuts_code IS NULL) = (nuts_version IS NULL))
);
CREATE UNIQUE INDEX uq_programme_code ON programme (code);
CREATE INDEX ix_programme_stream ON programme (stream_id, id);
CREATE INDEX ix_programme_country ON programme (country, nuts_code);

CREATE TABLE allocation (
    id                    {uuid}       NOT NULL PRIMARY KEY,
    partnership_id        {uuid}       NOT NULL CONSTRAINT fk_allocation_partnership REFERENCES partnership (id),
    stream_id             {uuid}       NOT NULL CONSTRAINT fk_allocation_stream REFERENCES funding_stream (id),
    ceiling_rule_id       {uuid}       NOT NULL CONSTRAINT fk_allocation_rule REFERENCES ceiling_rule (id),
    programme_id          {uuid}       CONSTRAINT fk_allocation_programme REFERENCES programme (id),
    eligible_cost_cents   BIGINT       NOT NULL,
    eu_contribution_cents BIGINT       NOT NULL,
    national_contribution_cents BIGINT NOT NULL DEFAULT 0,
    status                VARCHAR(16)  NOT NULL,
    decision_date         DATE,
    -- The year of decision_date, kept beside it so both databases group by it alike.
    decision_year         INTEGER,
    reference             VARCHAR(120),
    created_at            {timestamp}  NOT NULL,
    updated_at            {timestamp}  NOT NULL,
    CONSTRAINT ck_allocation_status CHECK (status IN ('REQUESTED', 'AWARDED', 'CLOSED', 'REJECTED', 'CANCELLED')),
    CONSTRAINT ck_allocation_amounts CHECK (eligible_cost_cents > 0 AND eu_contribution_cents >= 0
        AND national_contribution_cents >= 0
        AND eu_contribution_cents + national_contribution_cents <= eligible_cost_cents)
);
CREATE UNIQUE INDEX uq_allocation_reference ON allocation (stream_id, reference);
CREATE INDEX ix_allocation_partnership ON allocation (partnership_id, id);
CREATE INDEX ix_allocation_stream ON allocation (stream_id, id);
CREATE INDEX ix_allocation_status ON allocation (status);
CREATE INDEX ix_allocation_programme ON allocation (programme_id, id);
CREATE INDEX ix_allocation_year ON allocation (decision_year);

-- The 2021-2027 streams and their co-financing ceilings, as rows (DOMAIN.md: ceilings are data).
INSERT INTO funding_stream (id, code, name, legal_basis, period_start, period_end, category_required, created_at) VALUES
    ({id:0195a2b0-0000-7000-8000-000000000001}, 'AMIF', 'Asylum, Migration and Integration Fund',
     'Regulation (EU) 2021/1147', '2021-01-01', '2027-12-31', {false}, {now}),
    ({id:0195a2b0-0000-7000-8000-000000000002}, 'ESF_PLUS', 'European Social Fund Plus',
     'Regulation (EU) 2021/1057; Common Provisions Regulation (EU) 2021/1060', '2021-01-01', '2027-12-31', {true}, {now}),
    ({id:0195a2b0-0000-7000-8000-000000000003}, 'ERDF', 'European Regional Development Fund',
     'Regulation (EU) 2021/1058; Common Provisions Regulation (EU) 2021/1060', '2021-01-01', '2027-12-31', {true}, {now});

INSERT INTO ceiling_rule (id, stream_id, case_code, description, max_rate_bp, legal_reference, verified, note, created_at) VALUES
    ({id:0195a2b0-0001-7000-8000-000000000001}, {id:0195a2b0-0000-7000-8000-000000000001}, 'STANDARD',
     'Standard project', 7500, 'Regulation (EU) 2021/1147, Article 15', {true}, NULL, {now}),
    ({id:0195a2b0-0001-7000-8000-000000000002}, {id:0195a2b0-0000-7000-8000-000000000001}, 'SPECIFIC_ACTION',
     'Projects implemented under specific actions', 9000, 'Regulation (EU) 2021/1147, Article 15', {true}, NULL, {now}),
    ({id:0195a2b0-0001-7000-8000-000000000003}, {id:0195a2b0-0000-7000-8000-000000000001}, 'ANNEX_IV',
     'Actions listed in Annex IV', 9000, 'Regulation (EU) 2021/1147, Article 15', {true}, NULL, {now}),
    ({id:0195a2b0-0001-7000-8000-000000000004}, {id:0195a2b0-0000-7000-8000-000000000001}, 'OPERATING_SUPPORT',
     'Operating support', 10000, 'Regulation (EU) 2021/1147, Article 15', {true}, NULL, {now}),
    ({id:0195a2b0-0001-7000-8000-000000000005}, {id:0195a2b0-0000-7000-8000-000000000001}, 'EMERGENCY_ASSISTANCE',
     'Emergency assistance (Article 31)', 10000, 'Regulation (EU) 2021/1147, Article 15', {true}, NULL, {now}),
    ({id:0195a2b0-0001-7000-8000-000000000006}, {id:0195a2b0-0000-7000-8000-000000000001}, 'TECHNICAL_ASSISTANCE',
     'Technical assistance at the initiative of Member States', 10000, 'Regulation (EU) 2021/1147, Article 15', {true}, NULL, {now}),
    ({id:0195a2b0-0001-7000-8000-000000000011}, {id:0195a2b0-0000-7000-8000-000000000002}, 'LESS_DEVELOPED_REGION',
     'Priority in a less developed region (GDP per head below 75% of the EU average)', 8500,
     'Regulation (EU) 2021/1060, Article 112', {false}, 'To verify against the text of the regulation; variants (regions whose category changed, outermost regions, crisis measures) are to be added as rows.', {now}),
    ({id:0195a2b0-0001-7000-8000-000000000012}, {id:0195a2b0-0000-7000-8000-000000000002}, 'TRANSITION_REGION',
     'Priority in a transition region (GDP per head 75% to 100% of the EU average)', 7000,
     'Regulation (EU) 2021/1060, Article 112', {false}, 'To verify against the text of the regulation.', {now}),
    ({id:0195a2b0-0001-7000-8000-000000000013}, {id:0195a2b0-0000-7000-8000-000000000002}, 'MORE_DEVELOPED_REGION',
     'Priority in a more developed region (GDP per head above 100% of the EU average)', 4000,
     'Regulation (EU) 2021/1060, Article 112', {false}, 'To verify against the text of the regulation.', {now}),
    ({id:0195a2b0-0001-7000-8000-000000000021}, {id:0195a2b0-0000-7000-8000-000000000003}, 'LESS_DEVELOPED_REGION',
     'Priority in a less developed region (GDP per head below 75% of the EU average)', 8500,
     'Regulation (EU) 2021/1060, Article 112', {false}, 'To verify against the text of the regulation; variants (regions whose category changed, outermost regions, crisis measures) are to be added as rows.', {now}),
    ({id:0195a2b0-0001-7000-8000-000000000022}, {id:0195a2b0-0000-7000-8000-000000000003}, 'TRANSITION_REGION',
     'Priority in a transition region (GDP per head 75% to 100% of the EU average)', 7000,
     'Regulation (EU) 2021/1060, Article 112', {false}, 'To verify against the text of the regulation.', {now}),
    ({id:0195a2b0-0001-7000-8000-000000000023}, {id:0195a2b0-0000-7000-8000-000000000003}, 'MORE_DEVELOPED_REGION',
     'Priority in a more developed region (GDP per head above 100% of the EU average)', 4000,
     'Regulation (EU) 2021/1060, Article 112', {false}, 'To verify against the text of the regulation.', {now});
