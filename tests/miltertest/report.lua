-- An authenticated (DKIM-signed) report: notices queued, the result on the original,
-- naming the signature; the subject left alone, so the signature still verifies.
dofile(os.getenv("SM_LUA_DIR") .. "/common.lua")
local conn = connect()
local r = send_eml(conn, os.getenv("SM_DEMO"), "<autoreports@shadowserver.org>")
if r ~= SMFIR_ACCEPT and r ~= SMFIR_CONTINUE then error("report: unexpected reply " .. tostring(r)) end
assert(mt.eom_check(conn, MT_HDRADD, "X-Shadowmilter-Result"), "no X-Shadowmilter-Result")
local v = mt.getheader(conn, "X-Shadowmilter-Result", 0):gsub("\r?\n", "")
assert(v:find("notices=4", 1, true), "result header: " .. v)
assert(v:find("unmatched=1", 1, true), "result header: " .. v)
assert(mt.eom_check(conn, MT_HDRADD, "X-Shadowmilter-Unmatched"), "no X-Shadowmilter-Unmatched")
assert(v:find('auth="dkim d=shadowserver.org s=test a=rsa-sha256"', 1, true), "result header: " .. v)
assert(not mt.eom_check(conn, MT_HDRCHANGE, "Subject"), "subject changed: the report's signature would break")
mt.disconnect(conn)
