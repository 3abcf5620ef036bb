/**
 * A hand-labelled evaluation corpus for PII detection: messy, international text (support tickets,
 * CRM notes, CSV rows, logs, signatures) with phone numbers from the US, UK, [[LOCATION|Germany]], [[LOCATION|France]], [[LOCATION|Japan]]
 * and India, emails, IPv4/IPv6, cards, IBANs, dates, names and places, and negatives that look like
 * them (versions, build numbers, order ids, ISBNs, timestamps, amounts, coordinates).
 *
 * One item a line; `[[TYPE|text]]` marks an entity (the brackets are not part of the text). A line
 * without marks is a negative: nothing in it is PII. Lines starting with `#` are comments. Cards and
 * IBANs carry valid check digits; phone numbers are real-looking numbers of their region's plan.
 */
export const CORPUS = String.raw`
# --- US / Canada phone numbers
Call me at [[PHONE_NUMBER|(415) 555-0132]] after 5pm.
My cell is [[PHONE_NUMBER|415-555-0198]], text first.
Office: [[PHONE_NUMBER|+1 212 555 0147]] ext. 12 is reception.
Toll free: [[PHONE_NUMBER|1-800-555-0199]]
Reach [[PERSON|Dana Whitfield]] on [[PHONE_NUMBER|312.555.0176]] tomorrow.
phone=[[PHONE_NUMBER|+1-646-555-0110]]
Fax us at [[PHONE_NUMBER|(617) 555-0123]] or mail the form.
Customer called from [[PHONE_NUMBER|206 555 0183]] twice today.
Our [[LOCATION|Toronto]] office: [[PHONE_NUMBER|+1 416 555 0155]]
Tel: [[PHONE_NUMBER|(303) 555-0104 x221]]
Please dial [[PHONE_NUMBER|+1 (202) 555-0171]] for the duty officer.
mobile [[PHONE_NUMBER|7185550163]]
Hotline [[PHONE_NUMBER|1 (888) 555-0142]] is open 24/7.
# --- UK
Ring [[PHONE_NUMBER|020 7946 0958]] and ask for accounts.
[[LOCATION|UK]] mobile: [[PHONE_NUMBER|07700 900123]]
Call our [[LOCATION|London]] desk on [[PHONE_NUMBER|+44 20 7946 0321]].
You can reach [[PERSON|Oliver Bennett]] at [[PHONE_NUMBER|+44 (0)161 496 0123]].
Tel. [[PHONE_NUMBER|+44 7700 900456]] (WhatsApp too)
The [[LOCATION|Edinburgh]] branch is on [[PHONE_NUMBER|0131 496 0742]].
phone: [[PHONE_NUMBER|+447700900789]]
Switchboard [[PHONE_NUMBER|0113 496 0000]], option 3.
Leave a voicemail on [[PHONE_NUMBER|01632 960 001]] if nobody answers.
# --- [[LOCATION|Germany]]
Bitte rufen Sie [[PHONE_NUMBER|+49 30 1234567]] an.
Tel.: [[PHONE_NUMBER|+49 (0)89 2345 6789]]
Our [[LOCATION|Berlin]] office: [[PHONE_NUMBER|030 12345678]]
Handy [[PHONE_NUMBER|+49 151 23456789]]
Telefon: [[PHONE_NUMBER|0049 40 3456789]]
Contact [[PERSON|Jonas Weber]] in [[LOCATION|Munich]] at [[PHONE_NUMBER|089 1234567]].
Support [[LOCATION|Hamburg]] tel [[PHONE_NUMBER|040/4567890]]
Call [[PHONE_NUMBER|+49-69-9876543]] for [[LOCATION|Frankfurt]].
Mobil: [[PHONE_NUMBER|0171 2345678]] ([[LOCATION|Germany]])
# --- [[LOCATION|France]]
Appelez le [[PHONE_NUMBER|+33 1 42 68 53 00]] svp.
[[LOCATION|Paris]] office: [[PHONE_NUMBER|01 42 68 53 01]]
Portable [[PHONE_NUMBER|06 12 34 56 78]] ([[LOCATION|France]])
tel [[PHONE_NUMBER|+33 6 12 34 56 79]]
Call our [[LOCATION|Lyon]] team on [[PHONE_NUMBER|+33 4 72 10 30 30]].
Tél. : [[PHONE_NUMBER|01.45.67.89.10]]
# --- [[LOCATION|Japan]]
[[LOCATION|Tokyo]] office: [[PHONE_NUMBER|+81 3-1234-5678]]
Call [[PHONE_NUMBER|03-1234-5679]] ([[LOCATION|Tokyo]]) during business hours.
Mobile in [[LOCATION|Japan]]: [[PHONE_NUMBER|090-1234-5678]]
phone [[PHONE_NUMBER|+81 90 1234 5679]]
[[LOCATION|Osaka]] branch [[PHONE_NUMBER|06-6123-4567]]
Contact [[PERSON|Yuki Tanaka]] at [[PHONE_NUMBER|+81-6-6123-4568]].
# --- India
Call [[PHONE_NUMBER|+91 98765 43210]] for delivery.
[[LOCATION|Mumbai]] helpline: [[PHONE_NUMBER|022 2345 6789]]
WhatsApp [[PHONE_NUMBER|+91-9876543211]]
[[LOCATION|Bangalore]] office: [[PHONE_NUMBER|080 4123 4567]]
mobile no. [[PHONE_NUMBER|+919812345678]]
Reach [[PERSON|Priya Sharma]] on [[PHONE_NUMBER|+91 80 4123 4568]].
# --- Other international
[[LOCATION|Madrid]]: [[PHONE_NUMBER|+34 912 345 678]]
[[LOCATION|Amsterdam]] office [[PHONE_NUMBER|+31 20 123 4567]]
Sydney support: [[PHONE_NUMBER|+61 2 9876 5432]]
[[LOCATION|Rome]] desk [[PHONE_NUMBER|+39 06 1234 5678]]
[[LOCATION|Zurich]] [[PHONE_NUMBER|+41 44 668 18 00]]
# --- emails
Send it to [[EMAIL_ADDRESS|jane.doe@example.com]] please.
From: "[[PERSON|Kenji Sato]]" <[[EMAIL_ADDRESS|k.sato@example.co.jp]]>
cc [[EMAIL_ADDRESS|support+billing@acme.io]]; [[EMAIL_ADDRESS|ops@acme.io]]
Contact: [[EMAIL_ADDRESS|m.dupont@exemple.fr]]
reply-to=[[EMAIL_ADDRESS|noreply_42@mail.example.org]]
Her address is [[EMAIL_ADDRESS|ANNA.SCHMIDT@FIRMA.DE]], not the old one.
Email [[EMAIL_ADDRESS|r.kumar@example.in]] or call [[PHONE_NUMBER|+91 98450 12345]].
<[[EMAIL_ADDRESS|first.last@sub.domain.example.com]]> wrote:
Unsubscribe: [[EMAIL_ADDRESS|list-unsubscribe@news.example.net]]
# --- IP addresses
Login from [[IP_ADDRESS|192.168.1.20]] was blocked.
client_ip=[[IP_ADDRESS|203.0.113.45]] status=403
Server [[IP_ADDRESS|10.0.12.7]] is unreachable.
Connection reset by peer [[IP_ADDRESS|198.51.100.23]]:443
IPv6 client [[IP_ADDRESS|2001:db8:85a3::8a2e:370:7334]] connected.
Forwarded-For: [[IP_ADDRESS|172.16.254.1]], [[IP_ADDRESS|10.1.2.3]]
ssh user@[[IP_ADDRESS|192.0.2.146]] failed 3 times
host [[IP_ADDRESS|fe80::1ff:fe23:4567:890a]] timed out
The VPN gateway at [[IP_ADDRESS|100.64.0.1]] restarted.
Blocked [[IP_ADDRESS|185.220.101.4]] after 50 requests.
From [[IP_ADDRESS|192.168.1.20]] in [[LOCATION|Tokyo]].
Ping [[IP_ADDRESS|8.8.8.8]] to test DNS.
# --- credit cards
Card [[CREDIT_CARD|4111 1111 1111 1111]] was declined.
Pay with [[CREDIT_CARD|5555-5555-5555-4444]] next time.
Amex [[CREDIT_CARD|3782 822463 10005]] on file.
cc_number: [[CREDIT_CARD|4012888888881881]]
Charge [[CREDIT_CARD|6011 1111 1111 1117]] for the renewal.
Visa ending 1111: [[CREDIT_CARD|4242 4242 4242 4242]]
Card no. [[CREDIT_CARD|2223 0031 2200 3222]] expires 09/27.
JCB [[CREDIT_CARD|3530111333300000]]
# --- IBANs
IBAN: [[IBAN_CODE|DE89 3704 0044 0532 0130 00]]
Please transfer to [[IBAN_CODE|GB82 WEST 1234 5698 7654 32]].
Virement sur [[IBAN_CODE|FR14 2004 1010 0505 0001 3M02 606]]
account [[IBAN_CODE|NL91ABNA0417164300]]
Refund to [[IBAN_CODE|ES91 2100 0418 4502 0005 1332]] requested.
IBAN [[IBAN_CODE|IT60X0542811101000000123456]]
Bank: [[IBAN_CODE|CH93 0076 2011 6238 5295 7]]
Konto [[IBAN_CODE|AT61 1904 3002 3457 3201]]
# --- dates
Date of birth: [[DATE_TIME|1985-03-12]]
born on [[DATE_TIME|March 12, 1985]] in [[LOCATION|Boston]]
DOB [[DATE_TIME|12/03/1985]]
Geburtsdatum: [[DATE_TIME|12.03.1985]]
The contract was signed on [[DATE_TIME|5 April 2021]].
Appointment on [[DATE_TIME|2024-11-05 14:30]] confirmed.
Last visit [[DATE_TIME|Jan 7, 2023]].
# --- mixed records, CSV rows, logs
[[PERSON|Maria Garcia]], [[EMAIL_ADDRESS|maria.garcia@example.es]], [[PHONE_NUMBER|+34 612 345 678]], [[LOCATION|Madrid]]
1042,[[PERSON|John Smith]],[[EMAIL_ADDRESS|john.smith@example.com]],[[PHONE_NUMBER|+1 415 555 0133]],[[IP_ADDRESS|203.0.113.9]]
1043,[[PERSON|Emma Brown]],[[EMAIL_ADDRESS|emma.b@example.co.uk]],[[PHONE_NUMBER|+44 20 7946 0999]],[[IP_ADDRESS|198.51.100.77]]
1044,[[PERSON|Lukas Müller]],[[EMAIL_ADDRESS|lukas.mueller@example.de]],[[PHONE_NUMBER|+49 30 9876543]],[[IP_ADDRESS|192.0.2.10]]
1045,[[PERSON|Camille Martin]],[[EMAIL_ADDRESS|camille.martin@example.fr]],[[PHONE_NUMBER|+33 6 98 76 54 32]],[[IP_ADDRESS|203.0.113.200]]
1046,[[PERSON|Hiroshi Yamamoto]],[[EMAIL_ADDRESS|h.yamamoto@example.jp]],[[PHONE_NUMBER|+81 3 5555 1234]],[[IP_ADDRESS|198.51.100.8]]
1047,[[PERSON|Arjun Patel]],[[EMAIL_ADDRESS|arjun.patel@example.in]],[[PHONE_NUMBER|+91 99887 76655]],[[IP_ADDRESS|192.0.2.99]]
[[DATE_TIME|2024-11-05T10:22:33Z]] INFO login user=[[EMAIL_ADDRESS|jdoe@example.com]] ip=[[IP_ADDRESS|203.0.113.5]]
[[DATE_TIME|2024-11-05T10:22:35Z]] WARN sms to [[PHONE_NUMBER|+44 7700 900111]] failed (retry 2)
[[[DATE_TIME|2024-11-05 10:23:01]]] ERROR payment card=[[CREDIT_CARD|4111-1111-1111-1111]] declined ip=[[IP_ADDRESS|198.51.100.61]]
Ticket #58213: customer [[PERSON|Sarah Connor]] ([[EMAIL_ADDRESS|sarah.c@example.net]]) wants a callback on [[PHONE_NUMBER|(323) 555-0117]].
Shipping to [[PERSON|Pierre Lefebvre]], [[LOCATION|Lyon]]; tél [[PHONE_NUMBER|04 78 12 34 56]].
Kontakt: [[PERSON|Anna Schmidt]], Tel. [[PHONE_NUMBER|+49 221 1234567]], [[EMAIL_ADDRESS|anna.schmidt@example.de]]
--
[[PERSON|David Miller]] | Sales Director
M: [[PHONE_NUMBER|+1 917 555 0188]] | E: [[EMAIL_ADDRESS|dmiller@example.com]]
Wire [[IBAN_CODE|DE44 5001 0517 5407 3249 31]] and send the receipt to [[EMAIL_ADDRESS|ap@example.de]].
Pls call [[PHONE_NUMBER|0161 496 0456]] re: invoice INV-2024-0042.
Customer IP [[IP_ADDRESS|203.0.113.77]] used card [[CREDIT_CARD|5105 1051 0510 5100]].
The user at [[IP_ADDRESS|2001:db8::1]] reset the password for [[EMAIL_ADDRESS|li.wei@example.cn]].
# --- negatives: versions, builds, ids, ISBNs, timestamps, amounts
Version 10.2.3.4 fixes the login bug.
Upgraded to version 4.18.2.1 last night.
Build 2024.11.05.1432 is green.
firmware v2.1.0.17 installed on all routers
release 1.22.3.0 (LTS)
OID 1.3.6.1.4.1.343 is registered to the vendor.
ISBN 978-3-16-148410-0
ISBN-10 0-306-40615-2, paperback.
Order #4815162342 has shipped.
Order no. 2024-000123-77 was refunded.
Invoice INV-2024-000123 is overdue.
Tracking number 1Z999AA10123456784
SKU AB-1234-5678 is out of stock.
Unix time 1730802153 corresponds to the incident.
The job ran at 10:22:33 and took 1.234 s.
Total: 1,234,567.89 EUR
Coordinates 48.8566, 2.3522 mark the meeting point.
Latency p99 was 123.45 ms over 100000 requests.
Ports 8080 and 8443 are open.
commit 3f5c9a2b7e1d4c6f8a0b2d4e6f8a0c2e4b6d8f0a
Case 00012345 was escalated.
Part number 555-0100-22 is discontinued.
The score went from 1.2.3 to 2.3.4 in the ranking.
Table 4.2.1.3 lists the results.
Error code 0x80070005 (access denied).
Serial SN-2023-45-6789 registered.
Ref: 20231105-0001
Batch 12-34-56-78 passed QA.
Model 3 costs 42,990 USD.
Page 123 of 456.
Room 101, floor 3, building 7.
Uptime 99.95% in Q3 2024.
SHA256: 9f86d081884c7d659a2feaa0c55ad015
The meeting has 25 people and 12 chairs.
Use docker tag app:1.2.3.4 for staging.
PO number 4500012345 approved.
kernel 5.15.0.91 (generic)
npm install lodash@4.17.21
Sprint 42 ends on Friday.
Process 4242 exited with status 1.
# --- second batch (written after the first was tuned; not tuned against)
pls ring me back on [[PHONE_NUMBER|+1 (512) 555-0187]] asap!!
my number changed -> [[PHONE_NUMBER|650.555.0129]]
Call [[PHONE_NUMBER|+44 (0)20 7946 0642]] (ask for [[PERSON|Harriet]])
whatsapp: [[PHONE_NUMBER|+49 176 12345678]]
Für Rückfragen: [[PHONE_NUMBER|+49 711 1234567]]
[[PERSON|Sophie Durand]] - [[PHONE_NUMBER|+33 (0)1 44 55 66 77]]
Réservations au [[PHONE_NUMBER|+33 1 40 20 50 50]]
Tel [[PHONE_NUMBER|+81 (0)3 6789 0123]]
[[LOCATION|Delhi]] office: [[PHONE_NUMBER|+91 11 2345 6789]]
Emergency contact: [[PHONE_NUMBER|+61 412 345 678]]
urgent - call [[PHONE_NUMBER|0044 20 7946 0555]]
Mob. [[PHONE_NUMBER|07911 123456]]
Phone (home): [[PHONE_NUMBER|(718) 555-0144]]; phone (work): [[PHONE_NUMBER|(212) 555-0166]]
Tel/Fax [[PHONE_NUMBER|+49 89 12345-0]]
Contact the owner at [[PHONE_NUMBER|+1 604 555 0148]] or [[EMAIL_ADDRESS|owner@example.ca]].
New lead: [[PERSON|Tom Becker]] <[[EMAIL_ADDRESS|tom.becker@example.com]]>, [[PHONE_NUMBER|+1 720 555 0193]]
"email":"[[EMAIL_ADDRESS|a.nguyen@example.com]]","phone":"[[PHONE_NUMBER|+1-408-555-0175]]","ip":"[[IP_ADDRESS|203.0.113.88]]"
GET /api/v1/users 200 from [[IP_ADDRESS|198.51.100.14]] in 12ms
sshd[2211]: Accepted publickey for deploy from [[IP_ADDRESS|192.0.2.200]] port 52314
nginx: [[IP_ADDRESS|2001:db8:1234::5]] - - "POST /login HTTP/1.1" 401
Pay [[CREDIT_CARD|4000 0566 5566 5556]] before [[DATE_TIME|2025-01-31]].
IBAN [[IBAN_CODE|BE68 5390 0754 7034]], BIC GKCCBEBB
Please wire to [[IBAN_CODE|FR76 3000 6000 0112 3456 7890 189]] (ref 2024-77).
customer born [[DATE_TIME|1990-07-04]], card [[CREDIT_CARD|5425 2334 3010 9903]]
Patient [[PERSON|Laura Rossi]], DOB [[DATE_TIME|04/07/1990]], tel [[PHONE_NUMBER|+39 02 1234 5678]]
Reply to [[EMAIL_ADDRESS|hello@startup.io]] or visit us in [[LOCATION|Berlin]].
Upgrade to version 3.10.2.1 before Friday.
Version: 10.0.19045.3693
build 1.0.0.1234 deployed to staging
Order number 3456-7890-1234 shipped
ISBN 978-0-306-40615-7
Invoice 2024/11/0042 attached.
Epoch 1700000000 is 2023 in UTC.
Reference 0044-2079-4605 is a contract number.
Temperature 21.5 C, humidity 45.2 %.
The 3.4.5.6 release notes are online.
Chromium 120.0.6099.109 is outdated.
IMO 9074729 is the ship's number.
Weights: 12.5 kg, 13.75 kg and 9.0 kg.
Balance 12 345,67 EUR as of today.
# --- third batch (not tuned against)
Kindly call [[PHONE_NUMBER|+91 22 6123 4567]] between 10 and 6.
Store hours 9-17, phone [[PHONE_NUMBER|+1 303 555 0122]].
Customer service ([[LOCATION|UK]]): [[PHONE_NUMBER|0345 123 4567]]
Hotline Schweiz [[PHONE_NUMBER|+41 22 730 11 11]]
Our agent [[PERSON|Marco Bianchi]] will call from [[PHONE_NUMBER|+39 347 123 4567]].
Payment failed for [[EMAIL_ADDRESS|billing@shop.example]] from [[IP_ADDRESS|192.168.0.254]].
User [[EMAIL_ADDRESS|x_y-z@example.travel]] logged in at [[DATE_TIME|2024-02-29 23:59]].
Card [[CREDIT_CARD|4111111111111111]] / IBAN [[IBAN_CODE|GB33BUKB20201555555555]]
Router [[IP_ADDRESS|10.10.10.1]] and switch [[IP_ADDRESS|10.10.10.2]] rebooted.
Please update the record of [[PERSON|Aisha Khan]] ([[PHONE_NUMBER|+44 7700 900987]]).
Release 2.0.0.3 is scheduled for Q1.
Invoice no. 2024-100-2003 was paid.
Meeting ID 845 2231 9087 (Zoom)
Version 6.1.7601.17514 of the library is vulnerable.
App build 14.2.1.1 crashed on launch.
Tracking: 9400 1000 0000 0000 0000 00
The room holds 120 people.
Rate limit 1000 requests per 60 s.
Doc ref. 12/2024/003
Quarter results: 1.2.3 ranking unchanged.
`.trim();
