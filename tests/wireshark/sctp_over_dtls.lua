-- tests/wireshark/sctp_over_dtls.lua: hands decrypted DTLS application data to Wireshark's own
-- SCTP dissector. In WebRTC every DTLS application-data record is one SCTP packet (RFC 8261
-- §3, RFC 8831 §5); Wireshark 4.0 has no DTLS-to-SCTP binding (SCTP is not in "dtls.port"'s
-- Decode As list), so this heuristic claims every decrypted payload, well-formed or not: a
-- broken SCTP packet is then Wireshark's SCTP dissector's to flag as malformed.
-- Used by capture.sh: tshark -X lua_script:sctp_over_dtls.lua -o tls.keylog_file:KEYLOG
local sctp = Dissector.get("sctp")
local glue = Proto("sctp_over_dtls", "SCTP over DTLS (RFC 8261)")

local function heuristic(tvb, pinfo, tree)
    sctp:call(tvb, pinfo, tree)
    return true
end

glue:register_heuristic("dtls", heuristic)
