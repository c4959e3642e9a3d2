CREATE TABLE `fingerprints` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` text NOT NULL,
	`job_id` text NOT NULL,
	`output` text NOT NULL,
	`input` text NOT NULL,
	`chromaprint` text,
	`chromaprint_duration_sec` real,
	`frame_hashes` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`job_id`) REFERENCES `jobs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `fingerprints_tenant_idx` ON `fingerprints` (`tenant_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `fingerprints_output_idx` ON `fingerprints` (`job_id`,`output`);