-- An authenticated report: notices queued, the original tagged.
dofile(os.getenv("SM_LUA_DIR") .. "/common.lua")
local conn = connect()
local r = send_eml(conn, os.getenv("SM_DEMO"), "<autoreports@shadowserver.org>")
if r ~= SMFIR_ACCEPT and r ~= SMFIR_CONTINUE then error("report: unexpected reply " .. tostring(r)) end
assert(mt.eom_check(conn, MT_HDRADD, "X-Shadowmilter-Result"), "no X-Shadowmilter-Result")
local v = mt.getheader(conn, "X-Shadowmilter-Result", 0)
assert(v:find("notices=4", 1, true), "result header: " .. v)
assert(v:find("unmatched=1", 1, true), "result header: " .. v)
assert(mt.eom_check(conn, MT_HDRADD, "X-Shadowmilter-Unmatched"), "no X-Shadowmilter-Unmatched")
assert(mt.eom_check(conn, MT_HDRCHANGE, "Subject"), "subject not tagged")
mt.disconnect(conn)
