-- Webhook outbox (issue 7): rows of webhook_deliveries are written by triggers in the same transaction as
-- the state change that causes them, whichever process writes it (API intake, worker results, reconciler,
-- a hand-run UPDATE). A worker that dies between its result write and an enqueue therefore loses no
-- event: the row is committed with the result, and the dispatcher enqueues whatever is pending.
--
-- Statement-level triggers with transition tables: a 100 000-row UPDATE costs one INSERT … SELECT, not
-- 100 000 trigger calls, and nothing at all (one EXISTS on a small table) while no webhook is enabled.
--
-- A check's key is its own api_key_id, or its batch's for roster checks (the roster intake leaves
-- checks.api_key_id NULL and reaches the key through the batch).

-- A check event is due when the check becomes final and is worth acting on: any outcome but RISKLESS,
-- a RISKLESS code whose identity does not match, or a failure.
CREATE FUNCTION hes_webhook_check_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  inserted bigint;
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM webhooks WHERE disabled_at IS NULL AND 'check.completed' = ANY (events)
  ) THEN
    RETURN NULL;
  END IF;

  IF TG_OP = 'UPDATE' THEN
    INSERT INTO webhook_deliveries (webhook_id, event, subject_id)
    SELECT w.id, 'check.completed', n.id
    FROM new_rows AS n
    JOIN old_rows AS o ON o.id = n.id
    LEFT JOIN batches AS b ON b.id = n.batch_id
    JOIN webhooks AS w
      ON w.disabled_at IS NULL AND 'check.completed' = ANY (w.events)
     AND ((w.roster_id IS NULL AND w.api_key_id = COALESCE(n.api_key_id, b.api_key_id))
          OR w.roster_id = b.roster_id)
    WHERE n.status IN ('completed', 'failed')
      AND o.status NOT IN ('completed', 'failed')
      AND (n.status = 'failed' OR n.outcome <> 'RISKLESS' OR n.identity_match = false)
    ON CONFLICT (webhook_id, event, subject_id) DO NOTHING;
  ELSE
    -- Checks final at birth: malformed codes of a roster (completed / INVALID).
    INSERT INTO webhook_deliveries (webhook_id, event, subject_id)
    SELECT w.id, 'check.completed', n.id
    FROM new_rows AS n
    LEFT JOIN batches AS b ON b.id = n.batch_id
    JOIN webhooks AS w
      ON w.disabled_at IS NULL AND 'check.completed' = ANY (w.events)
     AND ((w.roster_id IS NULL AND w.api_key_id = COALESCE(n.api_key_id, b.api_key_id))
          OR w.roster_id = b.roster_id)
    WHERE n.status IN ('completed', 'failed')
      AND (n.status = 'failed' OR n.outcome <> 'RISKLESS' OR n.identity_match = false)
    ON CONFLICT (webhook_id, event, subject_id) DO NOTHING;
  END IF;

  GET DIAGNOSTICS inserted = ROW_COUNT;
  IF inserted > 0 THEN
    -- Delivered at commit, once per transaction (identical notifications are folded).
    PERFORM pg_notify('hes_webhooks', '');
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER checks_webhook_events_update
AFTER UPDATE ON checks
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION hes_webhook_check_events();

CREATE TRIGGER checks_webhook_events_insert
AFTER INSERT ON checks
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION hes_webhook_check_events();

-- batch.completed: once, when the batch's status becomes completed (the worker's last write, the
-- reconciler's sweep, or the intake of an all-invalid roster).
CREATE FUNCTION hes_webhook_batch_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  inserted bigint;
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM webhooks WHERE disabled_at IS NULL AND 'batch.completed' = ANY (events)
  ) THEN
    RETURN NULL;
  END IF;

  INSERT INTO webhook_deliveries (webhook_id, event, subject_id)
  SELECT w.id, 'batch.completed', n.id
  FROM new_rows AS n
  JOIN old_rows AS o ON o.id = n.id
  JOIN webhooks AS w
    ON w.disabled_at IS NULL AND 'batch.completed' = ANY (w.events)
   AND ((w.roster_id IS NULL AND w.api_key_id = n.api_key_id) OR w.roster_id = n.roster_id)
  WHERE n.status = 'completed' AND o.status <> 'completed'
  ON CONFLICT (webhook_id, event, subject_id) DO NOTHING;

  GET DIAGNOSTICS inserted = ROW_COUNT;
  IF inserted > 0 THEN
    PERFORM pg_notify('hes_webhooks', '');
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER batches_webhook_events_update
AFTER UPDATE ON batches
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION hes_webhook_batch_events();

-- The dispatcher's scan: pending rows never enqueued (next_attempt_at NULL) or overdue.
CREATE INDEX "webhook_deliveries_pending_idx" ON "webhook_deliveries" ("next_attempt_at")
  WHERE status = 'pending';
