CREATE TABLE `batches` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`api_key_id` text,
	`idempotency_key` text,
	`request_hash` text NOT NULL,
	`spec` text NOT NULL,
	`inputs` text NOT NULL,
	`total` integer NOT NULL,
	`created` integer DEFAULT 0 NOT NULL,
	`template_id` text,
	`template_name` text,
	`template_version` integer,
	`webhook` text,
	`request_id` text,
	`lease_until` integer,
	`canceled_at` integer,
	`completed_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `batches_tenant_idx` ON `batches` (`tenant_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `batches_idempotency_idx` ON `batches` (`tenant_id`,`idempotency_key`);--> statement-breakpoint
CREATE INDEX `batches_open_idx` ON `batches` (`completed_at`,`canceled_at`);--> statement-breakpoint
CREATE TABLE `templates` (
	`id` text NOT NULL,
	`version` integer NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`body` text NOT NULL,
	`first_created_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`id`, `version`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `templates_name_idx` ON `templates` (`tenant_id`,`name`,`version`);--> statement-breakpoint
CREATE INDEX `templates_tenant_idx` ON `templates` (`tenant_id`,`id`,`version`);--> statement-breakpoint
CREATE TABLE `tenant_quotas` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`max_running_jobs` integer,
	`max_queued_jobs` integer,
	`media_minutes_per_month` real,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `tenant_usage_months` (
	`tenant_id` text NOT NULL,
	`month` text NOT NULL,
	`input_media_sec` real DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `month`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `usage_served` (
	`tenant_id` text NOT NULL,
	`day` text NOT NULL,
	`bytes` integer DEFAULT 0 NOT NULL,
	`requests` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `day`)
);
--> statement-breakpoint
CREATE TABLE `watch_objects` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`watch_id` text NOT NULL,
	`key` text NOT NULL,
	`etag` text NOT NULL,
	`size_bytes` integer,
	`job_id` text,
	`skipped` text,
	`seen_at` integer NOT NULL,
	FOREIGN KEY (`watch_id`) REFERENCES `watches`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `watch_objects_key_idx` ON `watch_objects` (`watch_id`,`key`,`etag`);--> statement-breakpoint
CREATE INDEX `watch_objects_watch_idx` ON `watch_objects` (`watch_id`,`seq`);--> statement-breakpoint
CREATE TABLE `watches` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`api_key_id` text,
	`bucket` text NOT NULL,
	`prefix` text NOT NULL,
	`template` text NOT NULL,
	`every_sec` integer NOT NULL,
	`enabled` integer NOT NULL,
	`last_error_code` text,
	`last_error` text,
	`last_error_at` integer,
	`consecutive_errors` integer DEFAULT 0 NOT NULL,
	`last_polled_at` integer,
	`next_poll_at` integer NOT NULL,
	`lease_until` integer,
	`objects_seen` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `watches_tenant_idx` ON `watches` (`tenant_id`,`id`);--> statement-breakpoint
CREATE INDEX `watches_due_idx` ON `watches` (`enabled`,`next_poll_at`);--> statement-breakpoint
ALTER TABLE `jobs` ADD `released_at` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `queue_rank` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `template_id` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `template_name` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `template_version` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `batch_id` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `batch_index` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `input_duration_sec` real;--> statement-breakpoint
ALTER TABLE `jobs` ADD `input_size_bytes` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `compute_ms` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `jobs_fair_idx` ON `jobs` (`tenant_id`,`pool`,`status`,`released_at`,`queue_rank`,`id`);--> statement-breakpoint
CREATE INDEX `jobs_held_idx` ON `jobs` (`status`,`released_at`,`tenant_id`,`pool`);--> statement-breakpoint
CREATE UNIQUE INDEX `jobs_batch_idx` ON `jobs` (`batch_id`,`batch_index`);--> statement-breakpoint
CREATE INDEX `jobs_batch_status_idx` ON `jobs` (`batch_id`,`status`,`id`);--> statement-breakpoint
CREATE INDEX `jobs_tenant_finished_idx` ON `jobs` (`tenant_id`,`finished_at`);--> statement-breakpoint
ALTER TABLE `webhook_deliveries` ADD `batch_id` text;--> statement-breakpoint
CREATE INDEX `webhook_deliveries_batch_idx` ON `webhook_deliveries` (`batch_id`,`id`);--> statement-breakpoint
-- Jobs from before fair dispatch were published when they were accepted: they count as released.
UPDATE `jobs` SET `released_at` = coalesce(`dispatched_at`, `created_at`);--> statement-breakpoint
UPDATE `jobs` SET `queue_rank` = CASE `priority` WHEN 'high' THEN 0 WHEN 'low' THEN 2 ELSE 1 END;
