DROP TRIGGER `jobs_version_bump`;--> statement-breakpoint
-- As in 0009, but only for updates of the columns a job's public view shows (`jobViewColumns` in
-- shared/src/db/schema.ts; edge tests hold the two lists equal, and check that no other column
-- changes the view). The edge's own bookkeeping (dispatched_at on every dispatch, released_at,
-- progress_webhook_at every few seconds of a running job with progress webhooks) no longer makes
-- cached views and ETags stale, nor lists the job among the updated ones each edge reads.
CREATE TRIGGER `jobs_version_bump` AFTER UPDATE OF
  `id`, `tenant_id`, `status`, `priority`, `attempts`, `spec`, `error`, `outputs`, `engine`,
  `created_at`, `updated_at`, `started_at`, `finished_at`, `outputs_expired_at`, `template_id`,
  `template_name`, `template_version`, `batch_id`
ON `jobs` FOR EACH ROW
BEGIN
  UPDATE `jobs` SET `version` = OLD.`version` + 1,
    `change_seq` = coalesce((SELECT max(`change_seq`) FROM `jobs` WHERE `change_seq` IS NOT NULL), 0) + 1
  WHERE `rowid` = NEW.`rowid`;
END;
