#!/usr/bin/python3
"""A WebKitGTK browser for WebKitWebDriver with a persistent profile.

MiniBrowser's automation mode always uses an ephemeral data manager, so
IndexedDB and service worker registrations would not outlive a browser
restart. This program is what the WebKit suite (tests/webkit/) gives
WebKitWebDriver as its binary instead: WebKit2 4.1 through PyGObject
(Debian's python3-gi; run it with /usr/bin/python3), one WebContext on a
WebsiteDataManager rooted in --profile, automation allowed, and one Gtk
window per WebView that the automation session asks for.

Usage (the driver starts it; see tests/webkit/helpers/webkit.ts):
  /usr/bin/python3 browser.py --automation --profile DIR [--pid-file FILE]
"""
import argparse
import os
import sys

import gi

gi.require_version('Gtk', '3.0')
gi.require_version('WebKit2', '4.1')
from gi.repository import Gtk, WebKit2  # noqa: E402

# Must equal the capabilities' browserName, or the driver refuses the session.
APP_NAME = 'sw-ingest-webkit'

# navigator.storage is absent in WebKitGTK unless these are on.
FEATURES_ON = ('StorageAPI', 'StorageAPIEstimate')


def make_settings():
    settings = WebKit2.Settings()
    features = WebKit2.Settings.get_all_features()
    found = set()
    for i in range(features.get_length()):
        feature = features.get(i)
        if feature.get_identifier() in FEATURES_ON:
            settings.set_feature_enabled(feature, True)
            found.add(feature.get_identifier())
    missing = set(FEATURES_ON) - found
    if missing:
        print(f'{APP_NAME}: this WebKitGTK has no feature {", ".join(sorted(missing))}', file=sys.stderr)
    return settings


def main():
    parser = argparse.ArgumentParser(prog=APP_NAME)
    parser.add_argument('--automation', action='store_true', help='let WebKitWebDriver control the browser')
    parser.add_argument('--profile', required=True, help='directory of IndexedDB, service workers, caches; reused across launches')
    parser.add_argument('--pid-file', help='write this process id here (the tests SIGKILL it)')
    args, _ = parser.parse_known_args()

    if args.pid_file:
        with open(args.pid_file, 'w') as f:
            f.write(str(os.getpid()))

    Gtk.init(None)
    manager = WebKit2.WebsiteDataManager(
        base_data_directory=os.path.join(args.profile, 'data'),
        base_cache_directory=os.path.join(args.profile, 'cache'),
    )
    context = WebKit2.WebContext(website_data_manager=manager)
    context.set_automation_allowed(args.automation)
    settings = make_settings()
    windows = []

    def window_closed(window):
        if window in windows:
            windows.remove(window)
        if not windows:
            Gtk.main_quit()

    def new_view(related=None):
        if related is not None:
            view = WebKit2.WebView(related_view=related, settings=settings, is_controlled_by_automation=args.automation)
        else:
            view = WebKit2.WebView(web_context=context, settings=settings, is_controlled_by_automation=args.automation)
        window = Gtk.Window()
        window.set_default_size(1024, 768)
        window.add(view)
        windows.append(window)
        view.connect('close', lambda v: window.destroy())
        # window.open() from a page: a new window, in the same process group.
        view.connect('create', lambda v, action: new_view(v))
        view.connect('ready-to-show', lambda v: window.show_all())
        window.connect('destroy', window_closed)
        window.show_all()
        return view

    def automation_started(_context, session):
        info = WebKit2.ApplicationInfo()
        info.set_name(APP_NAME)
        info.set_version(1, 0, 0)
        session.set_application_info(info)
        session.connect('create-web-view', lambda s: new_view())
        session.connect('will-close', lambda s: Gtk.main_quit())

    context.connect('automation-started', automation_started)
    if not args.automation:
        new_view().load_uri('about:blank')
    Gtk.main()


if __name__ == '__main__':
    main()
