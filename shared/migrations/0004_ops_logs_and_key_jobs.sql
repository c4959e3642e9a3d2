CREATE TABLE `job_logs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`job_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`node_id` text NOT NULL,
	`engine` text NOT NULL,
	`outcome` text NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer NOT NULL,
	`lines` text NOT NULL,
	`dropped` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`job_id`) REFERENCES `jobs`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `job_logs_attempt_idx` ON `job_logs` (`job_id`,`attempt`);--> statement-breakpoint
ALTER TABLE `jobs` ADD `api_key_id` text;--> statement-breakpoint
CREATE INDEX `jobs_api_key_idx` ON `jobs` (`api_key_id`,`id`);--> statement-breakpoint
CREATE INDEX `jobs_waiting_idx` ON `jobs` (`status`,`pool`,`priority`,`updated_at`);