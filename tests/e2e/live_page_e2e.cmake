# The live page (issue 4) in headless Chromium, driven by headless_browser.py.
pulse_add_e2e(live_page live_page.sh)
# 77: chromium or python3 missing (install them with scripts/setup.sh test).
set_tests_properties(e2e:live_page PROPERTIES SKIP_RETURN_CODE 77)
