/**
 * Region codes Fastly's `/stats/regions` returned when this was written. The API stays the authority
 * at run time (`checkRegion` asks it); this list lets `validate` catch a typo without a request.
 */
export const KNOWN_REGIONS: readonly string[] = [
  'usa',
  'europe',
  'asia',
  'asia_india',
  'asia_south_korea',
  'anzac',
  'latam',
  'mexico',
  'southamerica_std',
  'africa_std',
];
