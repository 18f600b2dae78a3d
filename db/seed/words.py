"""Word lists of the demo data: names, employer words, streets and US cities.

Kept in the repository (rather than drawn from a fake-data library) so that seeded
data is byte-identical across machines and library upgrades. The lists are modest on
purpose: enough variety for realistic rosters, small enough to read. They are written
as blocks of text, not as tuple literals, so that they stay compact under the code
formatter.
"""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    """One entry per whitespace-separated word."""
    return tuple(text.split())


def _lines(text: str) -> tuple[str, ...]:
    """One entry per non-blank line, for entries that contain spaces."""
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _cities(text: str) -> tuple[tuple[str, str, str], ...]:
    """Lines of "City Name ST 123": a city, its state, its ZIP codes' first digits."""
    cities = []
    for line in _lines(text):
        city, state, zip_prefix = line.rsplit(" ", 2)
        cities.append((city, state, zip_prefix))
    return tuple(cities)


FEMALE_FIRST_NAMES = _words(
    """
    Abigail Adriana Aisha Alejandra Alice Amanda Amelia Ana Angela Anna Ashley Aubrey
    Beatriz Brenda Brianna Camila Carmen Caroline Catherine Charlotte Chloe Christina
    Claire Daniela Deborah Denise Diana Elena Elizabeth Ella Emily Emma Erin Evelyn
    Fatima Gabriela Grace Hannah Harper Isabella Jacqueline Jasmine Jennifer Jessica
    Julia Karen Katherine Kayla Keiko Laura Lauren Leah Lily Linda Lucia Madison Maria
    Megan Mei Melissa Mia Michelle Monica Nadia Natalie Nicole Olivia Patricia Priya
    Rachel Rebecca Rosa Samantha Sandra Sarah Sofia Stephanie Susan Tamara Teresa
    Valeria Vanessa Victoria Yolanda Zoe
    """
)

MALE_FIRST_NAMES = _words(
    """
    Aaron Adam Ahmed Alexander Andre Andrew Anthony Arjun Benjamin Brandon Brian Caleb
    Carlos Charles Christopher Daniel David Diego Dylan Eduardo Elijah Eric Ethan
    Felipe Gabriel George Gregory Hector Henry Hiroshi Isaac Jack Jacob James Jason
    Javier Jeffrey John Jonathan Jorge Jose Joseph Joshua Juan Justin Kenneth Kevin
    Kwame Liam Logan Lucas Luis Malik Marcus Mark Matthew Michael Miguel Mohammed
    Nathan Nicholas Noah Omar Oscar Patrick Paul Rafael Raj Ricardo Robert Ryan Samuel
    Scott Sean Stephen Steven Thomas Timothy Tyler Victor William Wei Xavier Zachary
    """
)

LAST_NAMES = _words(
    """
    Adams Aguilar Ahmed Alexander Allen Alvarez Anderson Bailey Baker Banks Barnes
    Bell Bennett Brooks Brown Bryant Butler Campbell Carter Castillo Castro Chen Clark
    Coleman Collins Cook Cooper Cruz Davis Diaz Dubois Edwards Evans Fernandez Fisher
    Flores Foster Garcia Gomez Gonzalez Gordon Graham Gray Green Griffin Gupta Hall
    Hamilton Harris Hayes Henderson Hernandez Hill Hoang Howard Hughes Jackson James
    Jenkins Jimenez Johnson Jones Kelly Kennedy Khan Kim King Kowalski Lee Lewis Lopez
    Martin Martinez Mendoza Meyer Miller Mitchell Moore Morales Moreno Morgan Murphy
    Murray Myers Nakamura Nelson Nguyen Novak Okafor Olsen Ortiz Owens Park Parker
    Patel Perez Perry Peterson Phillips Powell Price Ramirez Reed Reyes Richardson
    Rivera Roberts Robinson Rodriguez Rogers Romero Ross Russell Sanchez Sanders
    Schmidt Scott Shah Silva Singh Smith Stewart Sullivan Taylor Thomas Thompson
    Torres Tran Turner Vargas Walker Wallace Walsh Ward Washington Watson White
    Williams Wilson Wong Wood Wright Yamamoto Young
    """
)

# Employer names such as "Harbor Creek Dental Supply LLC": a place word, a landscape
# word, a trade and a legal form.
EMPLOYER_PLACE_WORDS = _words(
    """
    Amber Aspen Atlas Bay Birch Blue Bright Cardinal Cedar Coastal Copper Crescent
    Eagle Evergreen Falcon Golden Granite Green Harbor Heritage Highland Iron Juniper
    Keystone Lakeside Liberty Maple Meadow North Oak Pacific Pioneer Prairie Redwood
    River Sage Silver Stone Summit Sun Timber Twin Valley West Willow
    """
)

EMPLOYER_LANDSCAPE_WORDS = _words(
    """
    Bend Bluff Brook Canyon Cove Creek Crest Falls Field Forge Gate Glen Grove Hills
    Hollow Lake Landing Mesa Mill Oaks Park Peak Pines Point Ridge Rock Shore Springs
    Trail View
    """
)

EMPLOYER_TRADES = _lines(
    """
    Accounting
    Architects
    Auto Group
    Bakery
    Builders
    Cabinetry
    Construction
    Consulting
    Credit Union
    Dental Supply
    Distribution
    Electric
    Engineering
    Farms
    Foods
    Freight
    Hardware
    Health Partners
    Home Care
    Hospitality
    Insurance Agency
    Landscaping
    Law Group
    Logistics
    Machine Works
    Manufacturing
    Marine
    Media
    Medical Group
    Mechanical
    Packaging
    Pharmacy
    Plumbing
    Printing
    Realty
    Roofing
    Software
    Staffing
    Steel
    Veterinary
    """
)

EMPLOYER_LEGAL_FORMS = _words(
    """
    Co Corp Inc LLC Ltd
    """
)

STREET_NAMES = _words(
    """
    Adams Ash Bayview Birch Broad Cedar Center Cherry Church College Commerce Cypress
    Dogwood Elm Forest Franklin Grant Hickory Highland Hill Industrial Jackson
    Jefferson Lake Laurel Lincoln Madison Magnolia Main Maple Market Meadow Mill
    Monroe Oak Orchard Park Pine Poplar Railroad Ridge River Spring Spruce Sunset
    Sycamore Valley Walnut Washington Willow
    """
)

STREET_SUFFIXES = _words(
    """
    Ave Blvd Ct Dr Ln Pkwy Pl Rd St Way
    """
)

# The city, its state and the first three digits of its ZIP codes.
CITIES = _cities(
    """
    Albany NY 122
    Albuquerque NM 871
    Anchorage AK 995
    Atlanta GA 303
    Austin TX 787
    Baltimore MD 212
    Billings MT 591
    Birmingham AL 352
    Boise ID 837
    Boston MA 021
    Buffalo NY 142
    Burlington VT 054
    Charleston WV 253
    Charlotte NC 282
    Cheyenne WY 820
    Chicago IL 606
    Cincinnati OH 452
    Cleveland OH 441
    Colorado Springs CO 809
    Columbia SC 292
    Columbus OH 432
    Dallas TX 752
    Denver CO 802
    Des Moines IA 503
    Detroit MI 482
    El Paso TX 799
    Fargo ND 581
    Fresno CA 937
    Grand Rapids MI 495
    Hartford CT 061
    Honolulu HI 968
    Houston TX 770
    Indianapolis IN 462
    Jackson MS 392
    Jacksonville FL 322
    Kansas City MO 641
    Las Vegas NV 891
    Little Rock AR 722
    Los Angeles CA 900
    Louisville KY 402
    Madison WI 537
    Manchester NH 031
    Memphis TN 381
    Miami FL 331
    Milwaukee WI 532
    Minneapolis MN 554
    Nashville TN 372
    New Orleans LA 701
    Newark NJ 071
    Oakland CA 946
    Oklahoma City OK 731
    Omaha NE 681
    Orlando FL 328
    Philadelphia PA 191
    Phoenix AZ 850
    Pittsburgh PA 152
    Portland ME 041
    Portland OR 972
    Providence RI 029
    Raleigh NC 276
    Reno NV 895
    Richmond VA 232
    Sacramento CA 958
    Salt Lake City UT 841
    San Antonio TX 782
    San Diego CA 921
    Seattle WA 981
    Sioux Falls SD 571
    Spokane WA 992
    St. Louis MO 631
    Tampa FL 336
    Tucson AZ 857
    Tulsa OK 741
    Wichita KS 672
    Wilmington DE 198
    Worcester MA 016
    """
)
