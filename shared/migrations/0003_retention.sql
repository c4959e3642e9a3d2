ALTER TABLE `jobs` ADD `outputs_expired_at` integer;--> statement-breakpoint
CREATE INDEX `jobs_retention_idx` ON `jobs` (`outputs_expired_at`,`finished_at`);--> statement-breakpoint
ALTER TABLE `uploads` ADD `expired_at` integer;--> statement-breakpoint
CREATE INDEX `uploads_retention_idx` ON `uploads` (`expired_at`,`created_at`);