ALTER TABLE `jobs` ADD `change_seq` integer;--> statement-breakpoint
CREATE INDEX `jobs_change_seq_idx` ON `jobs` (`change_seq`) WHERE "jobs"."change_seq" is not null;--> statement-breakpoint
DROP TRIGGER `jobs_version_bump`;--> statement-breakpoint
-- As in 0007, and the row also takes the next number in the order of job updates: one more than the
-- highest so far (read from the index above). Updates happen one writer at a time, so the numbers
-- are unique and follow the order of commits; an edge that saw up to N finds every job updated
-- since with `change_seq > N`.
CREATE TRIGGER `jobs_version_bump` AFTER UPDATE ON `jobs` FOR EACH ROW
BEGIN
  UPDATE `jobs` SET `version` = OLD.`version` + 1,
    `change_seq` = coalesce((SELECT max(`change_seq`) FROM `jobs` WHERE `change_seq` IS NOT NULL), 0) + 1
  WHERE `rowid` = NEW.`rowid`;
END;
