#!/usr/bin/env python3
"""The layer check catches what it is meant to: each forbidden direction planted in a scratch tree
must fail, and the allowed ones must pass."""
import pathlib
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import check_includes  # noqa: E402


class LayerCheckTest(unittest.TestCase):
    def tree(self, files):
        """A scratch repository holding `files` ({relative path: text})."""
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        root = pathlib.Path(directory.name)
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return root

    def check(self, path, include):
        return self.check_text(path, f'#include "pulse/{include}"\n')

    def check_text(self, path, text):
        return check_includes.violations(self.tree({path: text}))

    def test_forbidden_directions_fail(self):
        planted = [
            ("src/presence/store.cpp", "http/request.hpp"),          # presence from http
            ("include/pulse/presence/x.hpp", "net/socket.hpp"),      # presence from net
            ("src/http/router.cpp", "handlers/health.hpp"),          # http from handlers
            ("src/net/socket.cpp", "http/request.hpp"),              # net from above it
            ("src/net/io.cpp", "app/config.hpp"),
            ("src/base/log.cpp", "net/io.hpp"),                      # base from above it
            ("src/handlers/heartbeat/api.cpp", "handlers/static/docroot.hpp"),
            ("src/handlers/static/docroot.cpp", "handlers/heartbeat/api.hpp"),
            ("src/handlers/static/docroot.cpp", "net/io.hpp"),       # handlers from net
            ("src/handlers/heartbeat/api.cpp", "net/event_loop.hpp"),
            ("src/handlers/metrics.cpp", "net/socket.hpp"),
            ("src/handlers/static/static_files.cpp", "presence/clock.hpp"),
            ("src/http/x.cpp", "presence/clock.hpp"),
            ("src/presence/redis/redis_store.cpp", "http/response.hpp"),  # the Redis store is presence
            ("include/pulse/presence/redis/connection.hpp", "net/io.hpp"),
        ]
        for path, include in planted:
            with self.subTest(path=path, include=include):
                found = self.check(path, include)
                self.assertEqual(len(found), 1, found)
                self.assertIn(path, found[0])

    def test_allowed_directions_pass(self):
        allowed = [
            ("src/net/socket.cpp", "base/unique_fd.hpp"),
            ("src/http/connection.cpp", "net/event_loop.hpp"),
            ("src/presence/state_file.cpp", "base/unique_fd.hpp"),
            ("src/handlers/static/docroot.cpp", "http/response.hpp"),
            ("src/handlers/heartbeat/api.cpp", "presence/presence_store.hpp"),
            ("src/handlers/metrics.cpp", "handlers/heartbeat/events.hpp"),
            ("src/app/server.cpp", "net/socket.hpp"),
            ("include/pulse/app/server.hpp", "handlers/static/static_files.hpp"),
            ("src/presence/redis/redis_store.cpp", "presence/redis/connection.hpp"),
            ("src/presence/redis/connection.cpp", "base/log.hpp"),
            ("src/app/server.cpp", "presence/redis_store.hpp"),
        ]
        for path, include in allowed:
            with self.subTest(path=path, include=include):
                self.assertEqual(self.check(path, include), [])

    def test_hiredis_stays_in_the_redis_store(self):
        self.assertEqual(self.check_text("src/presence/redis/connection.cpp", "#include <hiredis.h>\n"), [])
        for path in ("include/pulse/presence/redis/connection.hpp", "src/presence/presence_registry.cpp",
                     "src/app/server.cpp"):
            with self.subTest(path=path):
                found = self.check_text(path, "#include <hiredis/hiredis.h>\n")
                self.assertEqual(len(found), 1, found)
                self.assertIn("hiredis", found[0])

    def test_a_file_outside_every_layer_is_reported(self):
        found = self.check("src/misc/thing.cpp", "base/log.hpp")
        self.assertEqual(len(found), 1)
        self.assertIn("no known layer", found[0])

    def test_angle_brackets_and_spacing_count_too(self):
        root = self.tree({"src/net/x.cpp": '  #  include <pulse/http/request.hpp>\n'})
        self.assertEqual(len(check_includes.violations(root)), 1)

    def test_relative_includes_are_reported(self):
        found = self.check_text("src/handlers/static/docroot.cpp", '#include "../../net/io.hpp"\n')
        self.assertEqual(len(found), 1)
        self.assertIn("../../net/io.hpp", found[0])

    def test_a_new_handlers_folder_needs_its_own_rules(self):
        found = self.check("src/handlers/alerts/webhook.cpp", "http/request.hpp")
        self.assertEqual(len(found), 1)
        self.assertIn("no known layer", found[0])

    def test_the_command_fails_on_a_violation_and_passes_without(self):
        script = pathlib.Path(check_includes.__file__)
        bad = self.tree({"src/net/x.cpp": '#include "pulse/http/request.hpp"\n'})
        good = self.tree({"src/net/x.cpp": '#include "pulse/base/log.hpp"\n'})
        failed = subprocess.run([sys.executable, str(script), str(bad)], capture_output=True, text=True)
        passed = subprocess.run([sys.executable, str(script), str(good)], capture_output=True, text=True)
        self.assertEqual(failed.returncode, 1, failed.stdout)
        self.assertIn("net/ may not include http/", failed.stdout)
        self.assertEqual(passed.returncode, 0, passed.stdout)

    def test_the_repository_itself_passes(self):
        root = pathlib.Path(__file__).resolve().parents[2]
        self.assertEqual(check_includes.violations(root), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
