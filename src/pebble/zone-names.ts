/**
 * Short time-zone names as java.time prints them (`z`, `zz`, `zzz`, `v`) on Kestra's Java 21.
 *
 * DateTimeFormatter asks the CLDR provider for a zone's names; CLDR's English data has short names
 * only for a few metazones (the American ones, GMT, UTC), and for a missing one Java's
 * CLDRTimeZoneNameProviderImpl.deriveFallbackName takes the name from the COMPAT provider
 * (sun.util.resources.TimeZoneNames): `CEST` for Paris in summer, where Intl (CLDR only) says
 * `GMT+2`. No JavaScript API holds those names, so this is a table of them for the common zones,
 * copied from TimeZoneNames.java: [standard, daylight, generic]. A zone not listed gets Intl's short
 * name when CLDR has one (`EDT`), else Java's last resort, the GMT format (`GMT+05:45`).
 */
const GROUPS: Record<string, string> = {
  CET: 'CET CEST CET',
  EET: 'EET EEST EET',
  WET: 'WET WEST WET',
  GMTBST: 'GMT BST BT',
  DUBLIN: 'GMT IST IT',
  GMT: 'GMT GMT GMT',
  UTC: 'UTC UTC UTC',
  MSK: 'MSK MSD MT',
  TRT: 'TRT TRST TRT',
  PST: 'PST PDT PT',
  MST: 'MST MDT MT',
  CST: 'CST CDT CT',
  EST: 'EST EDT ET',
  AKST: 'AKST AKDT AKT',
  HST: 'HST HDT HT',
  AST: 'AST ADT AT',
  NST: 'NST NDT NT',
  BRT: 'BRT BRST BRT',
  AGT: 'ART ARST ART',
  CLT: 'CLT CLST CLT',
  COT: 'COT COST COT',
  PET: 'PET PEST PET',
  VET: 'VET VEST VET',
  JST: 'JST JDT JT',
  KST: 'KST KDT KT',
  CTT: 'CST CDT CT',
  HKT: 'HKT HKST HKT',
  SGT: 'SGT SGST SGT',
  MYT: 'MYT MYST MYT',
  IST: 'IST IDT IT',
  PKT: 'PKT PKST PKT',
  BDT: 'BDT BDST BDT',
  NPT: 'NPT NPST NPT',
  GST: 'GST GDT GT',
  ARAST: 'AST ADT AT',
  IRT: 'IRST IRDT IRT',
  ISRAEL: 'IST IDT IT',
  ICT: 'ICT ICST ICT',
  WIT: 'WIB WIST WIB',
  PHT: 'PST PDT PT',
  EST_NSW: 'AEST AEDT AET',
  BRISBANE: 'AEST AEDT AET',
  ADELAIDE: 'ACST ACDT ACT',
  DARWIN: 'ACST ACDT ACT',
  WST_AUS: 'AWST AWDT AWT',
  NZST: 'NZST NZDT NZT',
  SAST: 'SAST SAST SAT',
  WAT: 'WAT WAST WAT',
  EAT: 'EAT EAST EAT',
  CAT: 'CAT CAST CAT',
};

const ZONES: Record<string, string> = {
  CET: 'Europe/Paris Europe/Berlin Europe/Amsterdam Europe/Brussels Europe/Madrid Europe/Rome Europe/Vienna Europe/Zurich Europe/Stockholm Europe/Oslo Europe/Copenhagen Europe/Prague Europe/Warsaw Europe/Budapest Europe/Luxembourg Europe/Monaco Europe/Belgrade Europe/Zagreb Europe/Ljubljana Europe/Bratislava Europe/Malta Africa/Algiers Africa/Tunis CET',
  EET: 'Europe/Athens Europe/Bucharest Europe/Helsinki Europe/Kiev Europe/Riga Europe/Tallinn Europe/Vilnius Europe/Sofia Africa/Cairo Asia/Beirut EET',
  WET: 'Europe/Lisbon Atlantic/Canary Atlantic/Madeira WET',
  GMTBST: 'Europe/London Europe/Belfast Europe/Guernsey Europe/Jersey Europe/Isle_of_Man',
  DUBLIN: 'Europe/Dublin',
  GMT: 'GMT Etc/GMT Etc/Greenwich Africa/Abidjan Atlantic/Reykjavik',
  UTC: 'UTC Etc/UTC Etc/UCT Etc/Universal Etc/Zulu',
  MSK: 'Europe/Moscow Europe/Minsk',
  TRT: 'Europe/Istanbul Asia/Istanbul',
  PST: 'America/Los_Angeles America/Vancouver America/Tijuana US/Pacific',
  MST: 'America/Denver America/Phoenix America/Edmonton America/Boise US/Mountain',
  CST: 'America/Chicago America/Mexico_City America/Winnipeg America/Regina US/Central',
  EST: 'America/New_York America/Toronto America/Detroit America/Montreal America/Panama America/Jamaica US/Eastern',
  AKST: 'America/Anchorage America/Juneau US/Alaska',
  HST: 'Pacific/Honolulu US/Hawaii',
  AST: 'America/Halifax America/Puerto_Rico Atlantic/Bermuda',
  NST: 'America/St_Johns',
  BRT: 'America/Sao_Paulo America/Bahia America/Recife America/Fortaleza',
  AGT: 'America/Argentina/Buenos_Aires America/Buenos_Aires',
  CLT: 'America/Santiago',
  COT: 'America/Bogota',
  PET: 'America/Lima',
  VET: 'America/Caracas',
  JST: 'Asia/Tokyo',
  KST: 'Asia/Seoul',
  CTT: 'Asia/Shanghai Asia/Taipei Asia/Macau',
  HKT: 'Asia/Hong_Kong',
  SGT: 'Asia/Singapore',
  MYT: 'Asia/Kuala_Lumpur',
  IST: 'Asia/Kolkata Asia/Calcutta Asia/Colombo',
  PKT: 'Asia/Karachi',
  BDT: 'Asia/Dhaka',
  NPT: 'Asia/Kathmandu',
  GST: 'Asia/Dubai Asia/Muscat',
  ARAST: 'Asia/Riyadh Asia/Baghdad Asia/Kuwait Asia/Qatar Asia/Bahrain',
  IRT: 'Asia/Tehran',
  ISRAEL: 'Asia/Jerusalem Asia/Tel_Aviv',
  ICT: 'Asia/Bangkok Asia/Ho_Chi_Minh Asia/Saigon',
  WIT: 'Asia/Jakarta',
  PHT: 'Asia/Manila',
  EST_NSW: 'Australia/Sydney Australia/Melbourne Australia/Canberra Australia/Hobart',
  BRISBANE: 'Australia/Brisbane',
  ADELAIDE: 'Australia/Adelaide',
  DARWIN: 'Australia/Darwin',
  WST_AUS: 'Australia/Perth',
  NZST: 'Pacific/Auckland',
  SAST: 'Africa/Johannesburg',
  WAT: 'Africa/Lagos Africa/Kinshasa',
  EAT: 'Africa/Nairobi Africa/Addis_Ababa',
  CAT: 'Africa/Maputo Africa/Harare',
};

let table: Map<string, string[]> | undefined;

/** [standard, daylight, generic] short names of a zone from the table, or undefined. */
export function javaShortNames(zone: string): string[] | undefined {
  if (!table) {
    table = new Map();
    for (const [group, zones] of Object.entries(ZONES))
      for (const z of zones.split(' ')) table.set(z, (GROUPS[group] as string).split(' '));
  }
  return table.get(zone);
}
