"""`python manage.py rotate_credentials_key`: re-encrypt every credential secret with the newest key.

Procedure (docs/credentials.md): put a new key in front of CREDENTIALS_ENCRYPTION_KEYS and keep the
old one after it, deploy, run this command, then remove the old key. Safe to run again: secrets
already encrypted with the newest key are left untouched. Each re-encrypted credential gets one
audit event (actor "system") without any secret value.
"""
from django.core.management.base import BaseCommand, CommandError

from credentials import crypto, services


class Command(BaseCommand):
    help = "Re-encrypt all stored credential secrets with the newest key in CREDENTIALS_ENCRYPTION_KEYS."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")
        parser.add_argument("--generate-key", action="store_true",
                            help="Print a new random key to put in front of CREDENTIALS_ENCRYPTION_KEYS, and exit.")

    def handle(self, *args, dry_run=False, generate_key=False, **options):
        if generate_key:
            self.stdout.write(crypto.generate_key())
            return
        problem = crypto.key_problem()
        if problem:
            raise CommandError(problem)
        keys = len(crypto.configured_keys())
        if keys == 1:
            self.stdout.write("Only one key is configured: anything it cannot decrypt cannot be rotated.")
        result = services.credentials_reencrypt(actor=None, dry_run=dry_run)
        verb = "Would re-encrypt" if dry_run else "Re-encrypted"
        self.stdout.write(
            f"{verb} {result.secrets_reencrypted} secret(s) in {result.credentials_reencrypted} credential(s); "
            f"{result.already_current} credential(s) already used the newest key."
        )
        if result.failed:
            raise CommandError(
                f"{len(result.failed)} credential(s) could not be decrypted with any configured key "
                f"(ids {', '.join(map(str, result.failed))}); they were left unchanged. Add the key they "
                "were encrypted with and run the command again, or have the operator replace the secrets."
            )
        if not dry_run:
            self.stdout.write(self.style.SUCCESS(
                "Done. Once every server runs with the new key first, you can remove the older keys."))
