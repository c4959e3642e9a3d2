ALTER TABLE `jobs` ADD `version` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Every update of a job moves its version on, whichever code path (or edge process) wrote it, so a
-- cached view of the job is known stale from this one column. SQLite runs no trigger from inside
-- its own trigger (recursive_triggers is off), so the bump does not bump itself.
CREATE TRIGGER `jobs_version_bump` AFTER UPDATE ON `jobs` FOR EACH ROW
BEGIN
  UPDATE `jobs` SET `version` = OLD.`version` + 1 WHERE `rowid` = NEW.`rowid`;
END;
