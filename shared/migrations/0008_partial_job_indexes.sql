DROP INDEX `jobs_undispatched_idx`;--> statement-breakpoint
DROP INDEX `jobs_idempotency_idx`;--> statement-breakpoint
DROP INDEX `jobs_retention_idx`;--> statement-breakpoint
DROP INDEX `jobs_batch_idx`;--> statement-breakpoint
DROP INDEX `jobs_batch_status_idx`;--> statement-breakpoint
DROP INDEX `jobs_tenant_finished_idx`;--> statement-breakpoint
CREATE INDEX `jobs_undispatched_idx` ON `jobs` (`status`,`released_at`) WHERE "jobs"."dispatched_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX `jobs_idempotency_idx` ON `jobs` (`tenant_id`,`idempotency_key`) WHERE "jobs"."idempotency_key" is not null;--> statement-breakpoint
CREATE INDEX `jobs_retention_idx` ON `jobs` (`outputs_expired_at`,`finished_at`) WHERE "jobs"."finished_at" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX `jobs_batch_idx` ON `jobs` (`batch_id`,`batch_index`) WHERE "jobs"."batch_id" is not null;--> statement-breakpoint
CREATE INDEX `jobs_batch_status_idx` ON `jobs` (`batch_id`,`status`,`id`) WHERE "jobs"."batch_id" is not null;--> statement-breakpoint
CREATE INDEX `jobs_tenant_finished_idx` ON `jobs` (`tenant_id`,`finished_at`) WHERE "jobs"."finished_at" is not null;