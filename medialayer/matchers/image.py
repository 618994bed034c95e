"""Image matcher: global DCT hashes, then ORB keypoint verification with aligned luminance and colour checks.

Normalise: decode to RGB (JPEGs with ``draft()`` to about 512 px; EXIF orientation after the draft;
alpha composited on white; CMYK, 16-bit and palette images converted; only the first frame of an
animation is decoded), trim uniform borders (padding, letterbox; repeated so padding around a photo's
own flat margin goes too, but never below TRIM_MIN_KEPT of a side), scale the greyscale to 512 px on
the long side (small images are enlarged, so a 128-px thumbnail gets keypoints where its original has them).

Fingerprint (``ImageFingerprint``; about 28-30 KB pickled with 384-448 keypoints, less for plain images):
  * PDQ-style 256-bit DCT hashes of the whole image and of its central 60% x 60%, each in the 8
    dihedral orientations (derived from the DCT coefficients, so flips and 90-degree turns cost nothing): 512 B;
  * a PDQ-style quality score, and a low-information flag (no trustworthy hash and hardly any corners);
  * up to 320 ORB keypoints (uint16 coordinates, 1/8 px: 1.3 KB) spread over a grid so no textured
    corner or overlaid text takes them all, with their descriptors (10 KB), plus descriptors of the
    mirrored image at the 160 strongest (5 KB) for flipped-and-edited copies; and up to 64 more from ORB's coarse
    pyramid levels (2.4 KB), where a copy shown at a half to a quarter of the size has its corners; and up to 64
    more (2.4 KB) in the grid cells where ORB's cap on corners over the whole image left almost none: a dark, smooth
    picture in a collage cell or a meme keeps corners there, as it has alone;
  * a 64x64 luminance thumbnail (4 KB) and a 32x32 colour thumbnail (3 KB) for the aligned checks;
  * the part of the decoded image that trimming kept, so a match can say where the source sits in the
    whole target (``Comparison.region``, from the verified transform), and the colour of each band it cut (12 B);
  * the visual word of each descriptor, upright and mirrored (``image_sketch``: at most 608 uint16, about 1 KB),
    and each keypoint's ORB angle and pyramid level (768 B), for the cascade's word stage.

Compare is a cascade, cheapest evidence first: the hashes; then, when they are too far apart to accept
(beyond ``ACCEPT_DISTANCE``), the word matches (descriptors of one visual word within a few bits of each
other): a pair with fewer than ``MIN_WORD_MATCHES`` could hardly pass keypoint verification and stops there, and so
does one no two of whose word matches agree on a transform (turned and scaled as each match's keypoints say and as
the line between them says: ``word_matches_agree``), unless MIN_WORDS_AT_PLACES of its word matches lie at their
places if b shows a's whole picture (``_word_matches_at_their_places``, the hypothesis verify() tries last, which a
handful of correspondences verify: a heavily watermarked design keeps few word matches, which agree on no transform by
their angles) or, where one side is a flat design, b shows a's whole picture with its blocks' values kept
(``_whole_picture_values_kept``: round art28), scored from the hash distance alone (``rejected_score``), as is a far
pair the keypoints then verify nothing for; that spares most unrelated pairs the descriptor search and RANSAC, and
all of them the colour check.
Every other pair is verified: the keypoints are matched (ratio test on the two nearest descriptors at two places
of b, found by FAISS's exact binary search for a's upright and mirrored descriptors at once: a flat design's corner
found at several pyramid levels has one descriptor over and over, no rival to itself; each of b's descriptors in one
correspondence at most, so a flat patch's descriptor many of a's find nearest cannot collapse the fit; where
those verify nothing, descriptors each other's nearest within MUTUAL_DISTANCE bits are added: a tiled watermark's
repeated word or a small thumbnail's blur gives a design's corners look-alikes that fail the ratio test; and where
those verify nothing either for a pair whose hashes are too far apart to accept, b may show a's whole picture (decoded
in one shape, a few of the correspondences found at their places under that, most colours kept or turned with all the
picture's hues; or nearly all colours kept and a few of a's own keypoints found at their places, asked only where
nearly all blocks keep their values, a check costing little on unrelated pairs, rounds art26 and art27:
``_same_picture``),
and a's keypoints are looked for at their own places in b, ``_same_picture_correspondences``: a tiled watermark
gives a corner look-alikes all over b, not at its place; where those are too few or too bunched for a fit of their
own, SAME_PICTURE_SUPPORT of them verify the hypothesis itself, round art21: heavy letters cross a design's few
corners and leave a handful their descriptors; no second motion layer is looked for among them, round wm22: they were
looked for further from their places than PARALLAX_TOLERANCE, and a few chance ones there fit a similarity; and where
nothing verifies a far pair of a picture of little detail, each of a's descriptors' LOOK_ALIKES nearest, turned
alike, are fitted, a fit kept where half of a's colours keep theirs under it: ``_with_look_alikes``, round combo27); a
similarity transform is fitted with RANSAC and refined to a homography when that explains as many correspondences
(keystone, a screen photographed at an angle), unless no similarity through two of them could explain MIN_INLIERS
(``_may_reach_inliers``: exact, cheaper than RANSAC's giving up on chance correspondences). A candidate needs
enough inliers spread over the matched region
and an overlap covering at least MIN_CONTAINMENT of one of the images: a picture pasted into a post,
a collage or a meme covers all of itself and only part of the other, so the evidence is about the
region, not the whole of the bigger picture, and ``Evidence.region`` says where it sits. Aligned
checks then warp the thumbnails with the transform: the fraction of 8x8 blocks whose luminance agrees
(a copy agrees almost everywhere it overlaps, an overlay spoils a few blocks, another capture of the
scene disagrees where its parallax moved things; the blocks an overlay covers, a caption, a sticker, a logo,
agree with nothing within MOVED_SEARCH pixels of the thumbnail and are left out, up to MAX_COVERED of the
overlap, where those a parallax moved agree there and still count: ``uncovered_agreement``; a block a thin overlay only
crosses, stripes, lines of text, small stickers, agrees where it is not covered, the rest at the overlay's level or
between that and the picture under it: ``_overlaid_blocks``, round overlay18; where another picture
borders the match inside the overlap, as the next cell of a collage does around a cover-cropped cell, both checks
keep to the cell: ``_cell``, below), and the fraction whose structure agrees but whose
colour a global colour mapping (a filter, grading, grayscale, sepia, hue rotation) fitted in either
direction does not explain, the largest connected region of them counted (a local recolour, which is not
a copy; a copy's stray blocks at misaligned edges are scattered, and a colour within a pixel of the
mapped one counts as explained; for a design of few colours the mapping is fitted to its palette, each
colour once, so a logo's background does not outweigh the logo; one tone curve for all three channels,
offset + gain x^gamma, is fitted too and kept where it explains more: brightness, contrast and gamma edits bend
every channel alike, clipped, which neither a gain and offset per channel nor an affine map follows, ``_tone_curve``,
and towards a grayscale picture one such curve of the luminance (from a grey one neither: the lines are kept); where
one such curve fitted to every palette entry, from either picture, explains every block's colour and luminance, only
blocks whose hue moved count (``_global_edit``: a design's strong brightness, contrast or gamma edit, which the maps
refitted without their worst-fitting third miss in one direction; round designs17), and so where one line of the
luminance with one gain of the chroma does (``_chroma_gain``: a saturation edit or a colour jitter, which mixes the
channels a design's gain and offset per channel keep apart, and clips; round pixel18), and so where one tint of the
luminance does (``_tint``: sepia, a toning from black, a gain per channel times the luminance, where the toned picture
is of one pale hue; the part recoloured is then not judged either, as from a picture of one tone; round art23); all
fitted inside the flat areas of the picture mapped from where those hold three colours or more, and a pixel on an edge
next to a colour the map clips not judged (round art20: a design's white brightened clips, and its edges and lines of
text thinner than a thumbnail pixel are blends with it, which no curve of the blend gives and which skewed the fit);
a block whose colours did not change at all (pixel by pixel, or both smoothed: a thin line falls dark on one
thumbnail pixel or pale on two) is never counted,
whatever the mapping says; a direction starting from a picture of one tone, grey or sepia, is not judged), or
whose mean luminance moved unlike that of the other's colours under the same mapping (a recolour of part of a
nearly colourless picture, whose colour direction the check cannot fit). Neither counts where the whole
picture's hues turned and the block's pixels turned with them, their saturation and brightness kept (a hue rotation
is no affine map of RGB; not where a part of the chromatic blocks kept its hue: a rotation turns every colour; there
the luminance agreement may be judged on each pixel's largest channel, which the rotation keeps while it moves each
colour's luminance its own way: ``_value_agreement``, round wm22), and
mapped colours stop at the ends of the range as pixels do (a brightened copy clips), a channel at the top of the range
in the picture mapped from being only a lower bound (the original of a clipped highlight was as bright or brighter);
of mappings equal on colour, the one that also explains more blocks' luminance is kept (a brightened product on white).
Also weighed: how many of the correspondences inside the overlap fit the transform (tight for a copy, loose
for another viewpoint) and whether the correspondences the transform leaves over or fits only loosely (beyond
PARALLAX_TOLERANCE) fit a second motion close to it (parallax: a near layer moving against a far one in another
capture of the scene, by less than the RANSAC tolerance too; a copy's leftovers are chance).

Parallax weighed by its own size too (``parallax_feature``): the second layer's share of the first layer's inliers
understates it when the first layer is richly textured (a stereo pair of a volcano: 9 points against 149, a share of
0.06 that the score hardly weighs, while a copy's leftovers almost never agree on a motion of that many points), so
the score weighs the larger of that share and the second layer's size against ``PARALLAX_POINTS``; or, larger still,
the inliers' coherent residual against ``COHERENT_PARALLAX`` (``_coherent_residual``, round bursts17): a near layer
moving within the RANSAC tolerance (a narrow stereo baseline) stays among the first layer's inliers, but neighbouring
inliers are off the fit alike, where a copy's residuals are resampling's independent noise.

And a second layer that is a region of the picture of its own, moved well beyond the first layer's fit, weighs as
parallax in full (``_near_layer``, round neg25): a stereo pair's near field of 11 points, moved 18 px, against 183
inliers of the mountain behind it; a copy's chance leftovers lie among the first layer's inliers, or within a few
pixels of their motion.

A copy keystoned (a meme's keystone, a screen shot at an angle) is one plane seen at an angle: the similarity RANSAC
fits it with, and the homography refit from that one's inliers, may leave residuals neighbours share, which read as a
near layer; where one homography through the inliers leaves only resampling's noise (under PLANE_RESIDUAL), that is the
coherent residual (``_plane_coherent_residual``, round meme23). A near layer moves one region alone: the homography
explains part of its shift, never to the noise, and the fit's residual counts.

And the overlap's share of a picture leaves out its caption bars where the other picture has none
(``ImageFingerprint.caption_bars``: above and below it, lines of text on a plain ground up to a picture with detail,
found on the luminance thumbnail; trimming cuts a bar's plain margin and stops at its text): a meme of a crop holds its
picture whole, the bars it added beside the original's frame or over it (round meme23).

And another capture of the scene weighs as parallax in full where each picture shows the scene going on beyond the
other's frame (``_scene_goes_on``, round bursts18): a burst's near layer may be flat or within the tolerance, its two
frames then a crop and keystone of each other, but neither holds the other, and along a side of each frame mapped into
the other, the other shows the picture up to the side and the same texture going on beyond it, with no seam. A copy
ends where the copied region does on one side at least: the copy's edge, or bars, a gutter, the next cell, fill or UI.
(Right up to the side, round collage23: a collage cell whose seam lies less than a block inside the picture's frame
finds no cell, and the next cell's texture goes on across the picture's side, which lies inside that cell.)

Recolours the thumbnails hardly show (``band_colours``, ``_band_ring``, ``_same_shapes``): a design's ground or top
bar is a uniform band along an edge, which trimming cuts away, so the fingerprint keeps the colour of each cut band
and the colour check judges the bands both pictures have on sides the transform puts together as a ring of blocks
around the thumbnails, each weighing its part of the band's area (the mappings fitted to the picture alone). And a
recolour may turn an element's contrast with its surroundings round (a grey emblem on white turned dark blue): its
edges' luminance details then anticorrelate, still the same shapes, where an overlay's new edges do not correlate.

A part recoloured judged by its shape too (``_recoloured_part``, round recolour16): the colour check's tolerance is in
units of the overlap's colour spread, which a white ground raises, and its mappings, fitted with the recoloured part
in, take up some of the new colour (a product in another colour on white). So the region of pixels whose hue moved
(CIELAB's a*b* plane, the chroma capped: absolute units, which a white ground does not widen, and which a change of
saturation or brightness alone does not move) is found without any mapping, a mapping is fitted to the rest of the
picture without it (an affine map or one tone curve, which follows a clipped sky's turn towards cyan), and where the
region's hue still moved under it while it explains the rest, and colours outside the region kept their hue (a hue
rotation turns them all), its share of the picture's own pixels (not those of a white ground) is the recoloured
share where that is more. The region is found in blocks of the same shapes (an overlay's new content has other
shapes), and counts whole where most of it lies there (round neg22: a new colour's luminance edge along the part's
outline, or a dark texture lifted to a colour, loses the shapes in the blocks it crosses). Where its outline crosses
MIN_OUTLINE_BLOCKS blocks or more, every one of the same shapes in both pictures, and neither direction's map explains
most of it, it is an element of the picture in another colour, and the pair no copy whatever the part's size
(``_outline_kept``, round neg23): a recolour changes no shape, its outline included, where a sticker, an overlay or a
caption adds edges of its own around it. So is a flat design one or more of whose palette entries moved whole, in full
CIELAB, while the rest keep theirs under one global edit, which none explains (``_palette_recoloured``, round neg27: a
saturated colour moved along its hue or lightness, or the design's template in another palette, which the capped hue
plane and the affine colour map cannot tell); and any design two of whose saturated colours turned their hues apart
(``_hues_turned_apart``, round neg28: a gradient wallpaper's element recoloured, a template in another palette).

The cell (``_cell``, round imageq10-collage): a collage cell, or a meme's picture between its caption bars, is
bordered by another picture along a straight seam, and a's frame mapped into b reaches across it. The seam is
placed, on each side of the inliers' box, where the aligned luminance stops agreeing line by line (block columns or
rows); beyond it must lie b's keypoints with no correspondence in a and blocks of another structure (a recolour
keeps the structure, another capture of the scene keeps correspondences), and one of the two pictures must go on
across it (``_seam_kind``, rounds shared15 and seam20): where both change picture along the same line, the two share
a part (one foreground strip composited over different skies), neither holds the other, and the whole overlap is
judged, none of it as covered by an overlay where both show texture beyond the part (another picture in each). So
too where both go on across it and one shows plain ground beyond it (round seam21): plain ground has no line to
correlate, so a black sky "goes on" for want of an edge, and the outline of a part both share ending in it (one
foreground under different night skies, the tuxmath series) cuts neither picture; beyond a part both share, only the
blocks where either picture has detail are judged (``_content_agreement``): black ground agrees with any black ground.
Then the luminance and colour checks, levels and colour mapping fitted there too, judge the cell alone: the next cell's
pixels neither skew the fits nor count as disagreeing or recoloured. It is looked for on b's grid, where a collage
cell spans whole blocks, then on a's when a is the frame the checks are judged in, where b's band along a's edge
fills whole blocks of a (and where a's picture fills under 4 of b's blocks whole, even shown smaller: a small cell, a
third of b's side or less, its seams inside b's blocks, leaves nothing to judge on b's grid, which is no disagreement;
round collage26). Where none is found there, the luminance agreement is judged on b's grid too and the better kept
(``_luminance_agreement``, round imageq14-meme): a meme of a crop shows the picture larger, and its caption bars and
keystone fill band a's edges in a's frame, while on b's grid they lie in blocks a's frame only partly covers, which
are not judged. And where a's picture lies inside b, judged on b's grid, b's colour thumbnail pixels along a seam mix
the gutter and the next picture into a's: a region of recoloured blocks one block deep along a side of the overlap,
where a's frame ends inside b's blocks beyond and b's luminance there does not agree with a's, is the seam's, not a
recolour (``_seam_regions``, round collage16; not along a seam ``_cell`` placed: a recolour reaching it looks alike).
Where the checks are judged in a's frame (b shows a's picture larger: a collage's wide or 2-picture cell, a meme of a
crop), the gutter and the next cell, or a caption bar, reach into a's outer line of blocks instead: a line of
recoloured blocks along a side of the judged blocks is the seam's where, along one of its long sides, b's luminance
steps across one straight line and a's goes on across it (``_holder_seam_regions``, round collage17). So too on b's
grid where a's colour pixels are larger than b's (a collage with less detail than its picture is judged as a, and its
pixels along the cell's seam mix the gutter and the next cell into the cell's: round collage25).

Order (round symm19): a pair gets one answer whichever picture comes first. The rules above are one-sided (a's
descriptors looked up among b's, b may show a's whole picture, the cell and an overlay's blocks found in b), so
hash_match(), verify() and may_verify(), and through them compare(), judge a pair in one order: the picture with less
detail first (``_judged_in_order``: an overlay, a caption, a collage's other cells add edges to a copy, and the
rules were built and fitted with the original first). The evidence holds a's frame mapped into b and b's into a, so
compare(a, b) and compare(b, a) give the same decision, score and confidence, and each the region of its own source
in its own target.

A pattern both pictures share (``_shared_pattern``, round noise19): two different pictures under one noise pattern
(AugLy's noise has one seed), grain or a texture get keypoints from it at the same places, which agree under the
identity. Where most inliers lie on flat ground of both pictures (the luminance thumbnail, where noise averages out,
is flat around them), the keypoints attest the pattern, not the pictures: the luminance agreement is then judged only
over the blocks where either picture has detail (``_content_agreement``: two designs agree on their plain ground, not
on their content). A copy's inliers lie on its content, where its original has its corners too. The same judgement
where most inliers are repeated glyphs in both pictures (``_tiled_pattern``, round wm28): two pictures under one tiled
watermark correspond on its repeats; a copy has the mark in one picture only. A design's own repeated corners fire it
too, so the content is also judged with a's luminance shifted by the hue turn the colour check fits (round wm29:
``_pattern_content_agreement``, ``_hue_turned``): a hue turn changes each colour's luminance its own way.

Score: a logistic function of that evidence (of the hash distance and whole-image colour change when
the keypoints verify nothing for a pair within ACCEPT_DISTANCE, the only case the colour change is computed
for), fitted by maximum likelihood on the tuning split of the quality benchmark (``bench/quality_image.py
--fit``; the hash's on the unverified pairs within twice ACCEPT_DISTANCE, where it decides), so the score
estimates how likely the pair is a duplicate; 0.5 is the match threshold and the distance from it sets the
confidence band (high beyond 0.4, medium beyond 0.2). Without verification the hash accepts only at a distance
of at most ``ACCEPT_DISTANCE`` (PDQ's 31 bits), and never from a hash of quality 0 (noise); a weak hash (quality
under ``MIN_QUALITY``, as flat designs have) gives at most ``medium`` confidence; an element recoloured
(``Evidence.recoloured_element``) holds a verified score at 0.49, under the threshold. Low-information images
(flat, gradient, two-tone) are decided from their 4x4 colour layout and never get more than ``low`` confidence.
"""
from __future__ import annotations

import bisect
import dataclasses
import functools
import io
import math
import warnings
from collections.abc import Callable

import cv2
import faiss
import numpy as np
from PIL import Image, UnidentifiedImageError

from medialayer.errors import ErrorCode, MediaError
from medialayer.limits import Limits
from medialayer.matchers.base import Comparison, Matcher
from medialayer.matchers.image_sketch import (MIN_WORD_MATCHES, rejected_score, visual_words, word_matches,
                                              word_order)
from medialayer.media import Blob

WORK_SIDE = 512  # long side of the working image (keypoints, thumbnails)
MIN_QUALITY = 50  # PDQ quality below this: flat or two-tone image, the hash is not trustworthy
MIN_BAND_RMS = 4.0  # RMS (0-255 scale) of the hashed DCT coefficients below which the hash is noise
MIN_KEYPOINTS = 40  # fewer corners (at FAST_THRESHOLD) than this and no trustworthy hash: low information
THUMB_TOLERANCE = 12.0  # mean absolute difference (0-255) of 4x4 colour layouts under which flat images are the same
COLOUR_SIDE = 32  # colour thumbnail for the colour check
MIN_HUE_SATURATION = 0.25  # blocks this saturated (HSV, both images) take part in the hue check
MIN_CHROMA = 0.1  # max - min of a pixel's channels (of 1) below which it has no colour to speak of
MAX_HUE_DEVIATION = 45.0  # degrees a block's hue may turn unlike the others' under a global edit
HUE_TURN_TOLERANCE = 15.0  # degrees: a turn of all hues beyond this, and a block's hue within this of it, turned alike
MAX_HUE_KEPT = 0.1  # chromatic blocks whose hue stayed (within HUE_TURN_TOLERANCE) while others turned: a local turn
ONE_HUE = 0.95  # mean of the chromatic colours' unit hue vectors above which a picture is of one hue (a toning)
MIN_TINTED_COLOURS = 2  # palette entries a tint must explain unclipped: one colour gives its three gains exactly
MAX_TONE_SATURATION = 0.5  # a toning's tint (_tint) at most this saturated: sepia's is 0.31; a picture of one deep hue
# (under water, a gold painting) is no toning of another picture that has its luminance (a part of it recoloured)
COLOUR_TOLERANCE = 0.25  # a block's colour residual (in units of the overlap's colour spread) above which it differs
# Floor of that spread (RGB distance, colours 0-1): below it the tolerance of a dark or dull picture sinks under
# JPEG's colour noise (no picture of the tuning split is that dull: their least spread is 0.18).
MIN_COLOUR_SPREAD = 0.16
# A pixel of the colour thumbnail whose 3 x 3 neighbourhood spans at most this many levels in each channel is inside a
# flat area (JPEG's noise there), not on an edge (_inside_flat)
FLAT_COLOUR_RANGE = 12
MAX_LOCAL_RECOLOUR = 0.5  # per-channel colour maps leaving more blocks than this unexplained: a global edit
CLIPPED_LEVEL = 250  # a channel this high may have been clipped by the edit: its colour tells nothing
LUMINANCE_TOLERANCE = 0.04  # a block's mean luminance (0-1) this far from the globally mapped one has moved
MIN_PALETTE_SHARE = 0.02  # a design's colour covering less than this of the overlap is an anti-aliased edge
FEW_COLOURS = 8  # a picture this many colours cover is a flat design for the colour check
BAND_ALIGNMENT = 0.03  # a side's ends within this (of the other picture's size) of the other's side's: one side
TONE_GAMMAS = np.exp(np.linspace(np.log(0.4), np.log(2.5), 25))  # exponents the shared tone curve tries (_tone_curve)
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)  # luminance of RGB (ITU-R 601, as PIL's grayscale)
TONED = 0.07  # colours off their principal axis by less than this of their spread: one tone (sepia, a duotone)
# A part recoloured (_recoloured_part), judged in CIELAB's a*b* plane with the chroma capped (_hue_plane):
RECOLOUR_CHROMA = 20.0  # chroma (CIELAB) from which a colour's hue counts in full (a grey has none)
RECOLOUR_SHIFT = 14.0  # a pixel moved this far in that plane: some 40 degrees of hue at full chroma, or grey coloured
RECOLOUR_FRINGE = 7.0  # pixels moved this far, connected to the part, are its fringe (a soft edge, partly recoloured)
MIN_RECOLOURED_PIXELS = 8  # of the colour thumbnail: half a COLOUR_BLOCK block
MIN_KEPT_COLOUR = 16  # pixels of colour outside the part that kept their hue, needed to tell it from a hue rotation
# A part recoloured whose outline crosses this many aligned-check blocks or more, every one of them of the same shapes
# in both pictures, is an element of the picture in another colour, not a copy (_outline_kept; round neg23, tune: the
# copies' parts whose outline kept the shapes all crossed 3-6 blocks, their stickers' and overlays' edges new in b).
MIN_OUTLINE_BLOCKS = 8
# A match whose pictures differ in a part's colour (Evidence.recoloured) on this share of the picture or more is never
# sure: the part may be a copy's overlay or another colour of one element (issue 13; round neg26, tune: of the matches
# the recolour bench's local colour changes made `high`, 52 of 304 carry such a part, of the quality bench's high
# copies 10 of 2,342).
UNSURE_RECOLOURED = 0.05
# A flat design's palette in other colours (_palette_recoloured), judged entry by entry in full CIELAB:
PALETTE_SHIFT = 10.0  # Delta E a pixel moved beyond under a global map: not that map's
WHOLLY_MOVED = 0.9  # share of a palette entry's pixels so moved: the entry took another colour
MIN_ENTRY_SHARE = 0.03  # entries so moved must cover this share of the judged pixels (a smaller one: a letter's)
MIN_KEPT_ENTRIES = 0.25  # and the entries that kept theirs this share: a global edit no one map follows moves all
MAX_SPILL = 0.25  # pixels moved outside them, of theirs: an overlay spills over the entries it covers
MAX_NEW_SPREAD = 6.0  # RMS Delta E of the moved entries' new colours about each entry's median: one flat colour each
SATURATED_CHROMA = 45.0  # CIELAB chroma from which a hue turns little under a grading or posterize (_hues_turned_apart)

ACCEPT_DISTANCE = 31  # hash distance (of 256) accepted without verification: PDQ's own threshold
TRIM_TOLERANCE = 10  # max deviation (grey levels) of a border pixel from the border's level
TRIM_MIN_UNIFORM = 0.97  # fraction of a line's pixels that must be at the border's level
TRIM_MAX_SIDE = 0.4  # never trim more than this fraction of a dimension from one side
TRIM_SIDE = 256  # borders are measured on a copy at most this large
TRIM_PASSES = 4  # trim again after a band: padding around a photo's own flat margin
TRIM_MIN_KEPT = 0.55  # trimming stops before it would keep less than this of the width or height
TRIM_EDGE = 3  # lines (of the TRIM_SIDE copy) cut past a band: its resampled and JPEG-ringing edge
# A meme's caption bar above or below the picture (_caption_rows): lines of text (and a sticker) on a plain ground, at
# least CAPTION_GROUND of each line's pixels at its level, up to a line of the picture, under PICTURE_GROUND at it
CAPTION_GROUND, PICTURE_GROUND = 0.5, 0.2

KEYPOINTS = 320  # ORB keypoints kept per image
MIRRORED_KEYPOINTS = 160  # of which this many also get a descriptor of the mirrored image
COARSE_KEYPOINTS, COARSE_LEVEL = 64, 3  # and this many more from ORB's pyramid levels from this one up
STARVED_CELL, STARVED_KEYPOINTS = 3, 64  # grid cells left under this many corners: this many more found there alone
ORB_DETECT = 3000  # candidates detected before the grid selection
FAST_THRESHOLD, FAST_THRESHOLD_LOW = 16, 1  # FAST corner thresholds on the contrast-stretched image
GRID = 6  # cells per side of the keypoint selection grid
RATIO = 0.8  # Lowe's ratio test
RIVALS, SAME_PLACE_PX = 4, 3.0  # nearest descriptors searched; within this (working px) of the nearest: no rival
MAX_DESCRIPTOR_DISTANCE = 80  # of 256 bits: a nearest neighbour further than this is no correspondence
# Where the ratio test leaves nothing to verify: mutual nearest descriptors this close (of 256 bits) correspond too.
# (Round imageq12-designs, on the tune split: 64 of 48, 64 and 80 verified the most watermarked and thumbnailed
# designs; 80 lets in more chance pairs, which spoil RANSAC's fit.)
MUTUAL_DISTANCE = 64
# A design whose corners look alike (a circle's edge, a polygon's few corners, a logo's repeated strokes): a corner's
# true correspondence is often its second or third nearest descriptor, another of its look-alikes the nearest, so
# neither the ratio test nor the mutual nearest keep it. Where nothing else verifies a pair of little detail (a's
# ImageFingerprint.detail under LOOK_ALIKE_DETAIL), each of a's descriptors proposes its LOOK_ALIKES nearest within
# MUTUAL_DISTANCE, those turned as most (_turned_alike), and RANSAC picks among them (_look_alike_correspondences).
# Such a fit finds a chance consensus between two designs of one template as readily (their layout's corners lie
# where the other's do, and a mapping of a design's few colours explains the other's palette in the colour check),
# so a fit is taken only where LOOK_ALIKE_KEPT of a's colour blocks keep their colours under it (_kept_colours, as
# _same_picture asks, less what an overlay covers). (Round combo27, tune: the designs of the split have a detail of
# 1.3-10.1, its photos 8.2-43.8. On the combo bench, of the fits this verifies, the copies' keep 0.70-0.91 (all but
# two under text, a sticker or bars), its negatives' 0.0-0.69; the two illustrations of one template under one
# letterbox matched at 0.955 without it, keeping 0.0.)
LOOK_ALIKES, LOOK_ALIKE_DETAIL, LOOK_ALIKE_KEPT = 3, 10.0, 0.5
TURN_BINS = 16  # bins of a turn (of ORB's angles) for the most common one; a bin either side of it turned alike
# Where neither verifies a pair whose hashes are too far apart to accept, b may show a's whole picture
# (_same_picture): both decoded images of one shape (aspect ratios within SAME_PICTURE_ASPECT), at least
# SAME_PICTURE_SUPPORT of the correspondences found so far at their places under that (within SAME_PICTURE_RADIUS
# working pixels), and at least SAME_PICTURE_UNCHANGED of the colour blocks of a's picture mapped there keeping their
# colours; a's keypoints are then looked for at their places in b, within SAME_PICTURE_RADIUS, the closest descriptor
# there within SAME_PICTURE_DISTANCE bits (_same_picture_correspondences). Round designs16, on the tune split and 1464
# extra tune draws, of the pairs beyond ACCEPT_DISTANCE of one shape:
# * 0.8 of the blocks keep their colours in 94% of the designs' watermarked copies and in all thumbnails and JPEG
#   copies; in 1-2% of the pairs of designs of one series and 0-9% of one template (3 of 35 on tune, at most 0.81),
#   plain, watermarked or thumbnailed. Without that condition logos of one layout in other colours and text verified:
#   their circle's and letters' corners lie where the other's do.
# * Of those reaching verify() unverified, the copies the hypothesis verifies have 6-9 of their correspondences at
#   their places, 242 of the 306 others none and 12 four or more: the colour check and the search run for few.
# * Radius 5, 8 and 12 and distance 40-80 tried: 8 and 56 verified the most copies with no negative more above the
#   1%-FP threshold; 64 and 80 let recoloured thumbnails in.
# * Round wm22: a block whose hue turned with the whole picture's (_hue_turns' `alike`: each colour's turned hue, its
#   saturation and value kept, gives the other's colour) counts as kept: a hue rotation turns edges' contrast, so ORB
#   matches few corners by their descriptors, and those few at their places verify the copy as under a watermark.
SAME_PICTURE_ASPECT, SAME_PICTURE_SUPPORT, SAME_PICTURE_UNCHANGED = 0.03, 4, 0.8
# Round art26: where fewer than SAME_PICTURE_SUPPORT of the correspondences found lie at their places, the hypothesis
# needs SAME_PICTURE_SUPPORT of a's keypoints at their places (_same_picture_correspondences) and this share of the
# blocks keeping their colours. On the tune split the copies it then finds (a tiled watermark, a thumbnail, a hue
# turn) keep 0.95-1.0 of them; the negatives reaching it, logos of one layout on a white ground, at most 0.81 (their
# ground keeps its colour, the logo does not).
SAME_PICTURE_ALL_UNCHANGED = 0.95
# Round art27: before that colour check, a cheap one it nearly implies: SAME_PICTURE_ALL_UNCHANGED of the blocks keep
# their mean HSV value (each pixel's largest channel, which a kept colour keeps and a hue rotation too) within this many
# grey levels, about the colour check's tolerance at a colourful picture's spread (_values_kept). Most pairs reaching
# the hypothesis without the search's support are unrelated pictures of one shape, and art26's colour check made their
# compares a third dearer. On the tune split (off-grid draws, the family bench) the copies the hypothesis then finds
# keep 1.0 of the blocks' values; unrelated pairs of one shape at most 0.86 (bench/verify_ab.py's; its photos 0.69).
SAME_PICTURE_VALUE_TOLERANCE = 32.0
SAME_PICTURE_RADIUS, SAME_PICTURE_DISTANCE = 8.0, 56
# The word stage lets a pair through to verify() where this many word matches lie at their places on that hypothesis
# (_word_matches_at_their_places; round art21: a heavily watermarked design's few word matches agree on no transform
# by their angles, or are fewer than MIN_WORD_MATCHES). A gate, not evidence: verify() still needs _same_picture's
# support and colours. On the tune split's 5,627 quality bench pairs, 1 sends 3 more to verify() than main (2 copies
# it verifies, a hard negative it does not), 2 only the negative; no random pair either way.
MIN_WORDS_AT_PLACES = 1
REPROJECTION_PX = 6.0  # RANSAC inlier threshold, working-image pixels
# A picture resized to another aspect ratio or sheared (DISC21's change of aspect ratio and skew): a similarity fits
# only a strip of it. Where one explains under half the correspondences, an affine map is taken instead when it
# explains STRETCH_GAIN times as many and stretches one axis at most MAX_STRETCH times the other. (Set by reasoning;
# on the tune split it changes no pair's score: no copy or negative there is stretched.)
STRETCH_GAIN, MAX_STRETCH = 1.5, 2.5
MIN_SCALE, MAX_SCALE = 0.2, 5.0  # the verified transform's scale (a to b)
ORB_LEVEL_SCALE = 1.2  # scale between two of ORB's pyramid levels (cv2.ORB_create's default scaleFactor)
# Two word matches agree on a transform (word_matches_agree) within these: degrees of turn, pyramid levels of scale
TURN_TOLERANCE, LEVEL_TOLERANCE = 45.0, 3.0
AGREEMENT_CHECK_MAX = 48  # word matches up to which that is tried (pairs of them grow as the square: beyond, verify)
# Correspondences up to which _may_reach_inliers bounds RANSAC, in less time than RANSAC takes to give up: of the
# ratio test (beyond, mostly a copy's, which RANSAC fits in a few iterations) and of verify()'s mutual nearest
# fallback (beyond the ratio test's, mostly chance pairs: 50-120 between unrelated photos)
CONSENSUS_CHECK_MAX, FALLBACK_CONSENSUS_CHECK_MAX = 48, 128
CONSENSUS_RESIDUALS = 48 * 47 // 2 * 48  # residuals it computes at most (every similarity of 48 of them)
SCALE_BIN_SHIFT = 19  # a scale's histogram bin: its float32 bits but the last 19 (16 bins an octave)
SCALE_RANGE = 2.0 ** 8  # scales beyond this (or under its inverse) share the histogram's end bins
RANSAC_SEED = 12345  # any fixed value: compare() must give the same answer every time
MIN_INLIERS = 10
MIN_INLIER_CELLS = 4  # of a 4x4 grid over the matched region, in both images
COVERAGE_GRID = 6  # cells per side of the inlier-coverage grid
MIN_CONTAINMENT = 0.3  # the overlap must cover at least this much of one of the two images
# Another picture around the match (a collage's other cells, a meme's caption bars), beyond a seam (_cell): the block
# lines there agree under SEAM_AGREEMENT on average; they hold b's keypoints in the overlap, at least this many, almost
# none (under FOREIGN_MATCHED) with any correspondence in a, and under FOREIGN_STRUCTURE of their blocks keep a's
# structure. (The two halves are not tuned: a line mostly agreeing or mostly not.)
MIN_FOREIGN_KEYPOINTS = 10
FOREIGN_MATCHED = 0.15
SEAM_AGREEMENT = 0.5
FOREIGN_STRUCTURE = 0.5
MIN_REGION_BLOCKS = 6  # aligned-check blocks the cell must hold for the checks to keep to it
# Where neither picture goes on across b's seam, the seam is the edge of a part both share (_seam_kind), on lines
# of SEAM_SAMPLES points: across the SEAM_LAG lines up to the first where a's and b's luminance stop correlating, a
# picture goes on when its own lines beside each of them correlate at SEAM_CONTINUITY at least (or its lines before
# the seam hardly correlate either: a fine texture), and no straight edge runs there (its median step across one of
# them its largest near the seam and over SEAM_STEP times its median step beyond). (Round shared15, the step on a
# alone, on composites of tune photos sharing a strip of another and inset variants of the tune photos drawn with
# another seed: 1.5-2.5 lost no collage cell, meme or photographed screen, and left 13-18 of 72 strips matched, 36
# before; without the largest-step condition 2.0 lost a map cropped into a collage cell, the map's coast along the
# seam and the ocean flat beyond it. Round seam20, both pictures, on 48 generated strip pairs and 48 pictures cut into
# a band of another, judged from either: lines correlating at 0.4, of 0.3-0.6, kept the most bands' cells and refused
# the most strips' seams; the originals' own lines dip to 0.3-0.5.)
SEAM_STEP, SEAM_SAMPLES, SEAM_LAG, SEAM_CONTINUITY = 2.0, 40, 3, 0.4
SEAM_FLAT = 1.0  # a median step (grey levels) beyond a seam under this: plain ground, no other picture (_seam_kind)
# A collage's or a meme's seam in the frame of the picture it holds: a straight step of the holder's luminance over
# HOLDER_SEAM_STEP times its median step (plus one level) near a line of recoloured blocks, where the picture has
# none (_straight_step; round collage17: a picture's own edge there, a burst's moved one, stops at about half that).
HOLDER_SEAM_STEP = 4.0
MIN_BOX_SHARE = 0.15  # and the share of a it must cover: an element two designs of one series share is smaller
# A second motion layer moves points at most MAX_PARALLAX (of WORK_SIDE) from where the first takes them, and at least
# PARALLAX_TOLERANCE working pixels, within which its points fit their own motion: a near layer whose parallax is under
# REPROJECTION_PX is among the first layer's inliers (a stereo pair of a narrow baseline), and one shifted by a tenth
# of the picture (a wide baseline) is still parallax. (Round imageq11-bursts, chosen on the tune split with extra
# bursts and stereo pairs of its photos: 0.1 -> 0.15 from 0.1-1.0, the tolerance 4 from 2, 3 and 4; REPROJECTION_PX
# before.)
MAX_PARALLAX = 0.15
PARALLAX_TOLERANCE = 4.0
# A second motion layer of this many points is parallax whatever the first layer's size (parallax_feature). Chosen on
# the tune split from 20-60: 40 kept the recall at the 1%-FP threshold best, the own decision matching 61 hard
# negatives there instead of 69 (of its verified pairs, every stereo pair has a second layer of 8 points or more; of
# each copy row, at most 7%).
PARALLAX_POINTS = 40
# A near layer whose parallax stays within the RANSAC tolerance leaves the inliers' residuals coherent: neighbouring
# inliers (RESIDUAL_NEIGHBOURS nearest in a) are off their fit alike, where a copy's residuals are resampling's
# independent noise. The coherent part's size (working pixels, _coherent_residual) weighs as parallax in full from
# COHERENT_PARALLAX. (Round bursts17, on the tune split with 527 more bursts and stereo pairs of its photos: copies'
# coherent residual is 0 in the median and at most 2.0 px, a meme's; 2 px let a keystone copy fall, 4 px caught less.)
RESIDUAL_NEIGHBOURS = 6
COHERENT_PARALLAX = 3.0
# A second motion layer of MIN_INLIERS points or more is another capture's near layer, weighed as parallax in full,
# where its points moved NEAR_LAYER_SHIFT working pixels or more from the first layer's fit in the median and, in the
# median, NEAR_LAYER_SHARE of each of its points' RESIDUAL_NEIGHBOURS nearest points (its own and the first layer's
# inliers) are its own: a region of the picture moving of its own (_near_layer; round neg25, tune: the stereo pair of
# the volcano, 11 points of its field moved 18 px at 5/6, against 183 inliers of the mountain; of the 493 copies with a
# second layer, those at 4/6 or more moved 4.8-7.9 px, those moved 12 px or more at 3/6 at most).
NEAR_LAYER_SHIFT = 2 * REPROJECTION_PX
NEAR_LAYER_SHARE = 2 / 3
# One plane seen at an angle (a keystoned copy): the homography through the inliers leaves a coherent residual under
# this (working px; _plane_coherent_residual). (Round meme23: 0.0 on the tune split's keystoned copies and on points
# of a grid keystoned by 3-8%, 0.48-0.87 where a region of a quarter to a half of them moved 3 px alike.)
PLANE_RESIDUAL = 0.25
# Another capture of the scene (a burst, another framing) shows the scene going on beyond the other's frame, in both
# pictures (_scene_goes_on). Along a side of one's frame mapped into the other, on lines SCENE_WINDOW thumbnail
# pixels either side of it, the other shows: the picture's details up to the side (the inside lines' steps along the
# line correlate with the picture's, SEAM_AGREEMENT in the median); texture on both sides (a median step along a line
# of SCENE_TEXTURE levels: fill, bars and a flat sky tell nothing); no straight step along the side (over SEAM_STEP
# times the window's median step plus one level: a seam to bars, a gutter, fill or UI) nor beyond it (over SEAM_STEP
# times the largest step inside plus one level: a frame reaching a little past the picture's edge); and lines across
# it correlating at least SCENE_CONTINUITY times as well as lines as far apart inside (the same texture going on, not
# the next picture of a collage). (Round bursts18, on the tune split with 527 more bursts and stereo pairs of its
# photos and 2,542 more copies: set from a look at the pairs; a texture floor of 1 level or a continuity of 0.3 took
# hardly more bursts off.)
SCENE_WINDOW = 10
SCENE_TEXTURE = 2.0
SCENE_CONTINUITY = 0.5
# And it shows the picture right up to the side: the SEAM_LAG inside lines nearest it correlate with the picture's at
# SCENE_UP_TO_SIDE in the median. A collage cell whose seam lies inside the picture's frame, less than a block of the
# collage from its side (a zoomed or offset crop), shows the next cell there, and that cell's texture goes on across
# the side (round collage23, tune: -0.2-0.3 along the collage sides so refused; of 166 sides of bursts and stereo
# pairs passing every other condition, 4 at 0.24-0.38, moving no decision, the rest at 0.49 or more; 0.5 let a tune
# burst match at the own decision).
SCENE_UP_TO_SIDE = 0.4
MAX_PERSPECTIVE = 0.5  # largest perspective term of a homography (times WORK_SIDE) taken as a view of one plane
LUMA_SIDE = 64  # aligned-check thumbnail
LUMA_BLOCK = 8  # aligned-check block side (in thumbnail pixels)
COLOUR_BLOCK = COLOUR_SIDE * LUMA_BLOCK // LUMA_SIDE  # colour-check block: the same grid as the luminance blocks
BLOCK_DETAIL = 0.25  # a block's own standard deviation (in units of the overlap's) above which it has detail
BLOCK_CORRELATION = 0.5  # detailed blocks agree when their details correlate above this
BLOCK_LEVEL_TOLERANCE = 0.5  # and their mean levels (in units of the overlap's standard deviation) differ less
# A block that disagrees in place but agrees with a's picture up to MOVED_SEARCH thumbnail pixels away (a sixteenth of
# its side) shows the scene moved, as another capture's parallax moves it; one that agrees nowhere near is covered (a
# caption, a sticker, a logo over a copy) and is left out of the agreement, up to MAX_COVERED of the overlap's blocks.
# (Round imageq12-covered, on the tune split with more draws of its photos: other captures' disagreeing blocks are
# 89-100% moved (medians), overlays' and stickers' 12-33%; copies' covered share reaches 0.19 at the 97th percentile.)
MOVED_SEARCH = 4
MAX_COVERED = 0.2
# A block a thin overlay crosses (a stripe, a line of text, a small sticker) agrees where it is not covered: its pixels
# within OVERLAY_TOLERANCE (units of the overlap's standard deviation) of the other picture's are at least
# MIN_VISIBLE of it and hold detail, and all but MAX_UNEXPLAINED of the rest lie at the overlay's level or between it
# and the picture under it (an anti-aliased or translucent edge): _overlaid_blocks. (Round overlay18, on the tune
# split: MIN_VISIBLE 0.4 with blocks flat under the overlay counted too put the threshold at 0.83, logos of one series
# and photos of one template agreeing more; 0.5 without them 0.65, the logos; flat designs left out 0.6368 as before.)
OVERLAY_TOLERANCE = 0.3
MIN_VISIBLE = 0.5
MAX_UNEXPLAINED = 0.05
# A pattern both pictures share on top of different content (one noise seed, grain, a texture: _shared_pattern): at
# least PATTERN_SHARE of the inliers lie on flat ground of both, where the luminance thumbnail, blurred by one pixel,
# spans under FLAT_GROUND grey levels within FLAT_WINDOW pixels (a keypoint's patch); noise averages out under it there
# (Gaussian sigma 30 spans 1-2 levels, 10% salt and pepper 4-6), a design's edges span tens. (Round noise19, on the
# tune split's photos and designs under bench/pixel_image.py's edits: 6-8 levels and a share of 0.5 flag 31-33 of the
# 36 pairs of two pictures under one noise that matched, 4 levels 21, a share of 0.7 21-27; and 9-10 of 2,448 copies,
# mostly an illustration whose keypoints are on its faint text, which the thumbnail does not show.)
FLAT_GROUND, FLAT_WINDOW, PATTERN_SHARE = 8.0, 2, 0.5
# A tiled overlay both pictures carry (a stock site's watermark: one word or logo repeated; _tiled_pattern): at least
# TILED_SHARE of the inliers, and TILED_REPEATS at least, are repeated glyphs in both pictures, each keypoint's
# descriptor within TWIN_DISTANCE bits of another keypoint's of its own picture beyond TWIN_RADIUS working pixels (the
# same corner at another pyramid level lies within it). A copy under such a mark has it in one picture only: the
# original's inliers are its own corners (a logo's symmetric ones repeat too, but a handful: a tiling repeats tens).
# Not always: a design's own repeated corners (UI screens, illustrations, wallpapers) fire it on 61 of 273 tune copies
# turned in hue, and the luminance content check then lost 17 of them (docs/benchmarks.md, merge28's entry): the
# content is judged under the colour check's hue turn too (_pattern_content_agreement, round wm29).
# (Round wm28, tune split, both edited: bench/art_image.py --designs's dark text 13 -> 3 of 91, combo_image.py's
# memes at the hard ends 5 -> 2; at 0.5 without a least count ten copies lost, logos of 10-14 inliers; with it two.)
TWIN_DISTANCE, TWIN_RADIUS, TILED_SHARE, TILED_REPEATS = 40, 16.0, 0.5, 2 * MIN_INLIERS

# Logistic calibration (fitted by ``bench/quality_image.py --fit``): score = 1 / (1 + exp(-(w . x + b))),
# given as (w..., b).
HASH_LOGIT = (-13.383, -10.474, 4.21)  # x = hash_features(), fitted where the keypoints could not verify
# (pairs within 2 x ACCEPT_DISTANCE: the hash score only decides pairs within ACCEPT_DISTANCE)
VERIFY_LOGIT = (14.211, -2.965, 10.139, 5.709, -44.841, -7.169, -21.712)  # x = verify_features()
HIGH_MARGIN, MEDIUM_MARGIN = 0.4, 0.2  # |score - 0.5| for high / medium confidence

_GRID64 = 64
HASH_BYTES = 32  # one 256-bit hash
_DCT = np.sqrt(2.0 / _GRID64) * np.cos(
    np.pi / (2 * _GRID64) * np.outer(np.arange(1, 17), 2 * np.arange(_GRID64) + 1))  # rows 1..16: skip DC
_ODD = (-1.0) ** np.arange(1, 17)  # sign pattern a mirror applies to DCT coefficients
_ORIENTATION_TRANSPOSE = {  # EXIF orientation tag -> the transpose that shows the image upright
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90}
_ORB = {}  # FAST threshold -> detector, created lazily once per process (cv2 objects do not pickle)
_PAIRS = {}  # n -> the index pairs (i < j) of n (np.triu_indices): _index_pairs
# A turn by d 256ths (the difference of two ORB angles, -255 to 255) undone, at [d] (a negative d from the end):
# exp(-2 pi i d / 256), computed as word_matches_agree computed it per match
_TURNED_BACK = np.exp(2j * np.pi * np.concatenate([np.arange(256), np.arange(-256, 0)]).astype(np.int16) / 256).conj()
_LOWEST_SCALE_BIN = int(np.float32(1.0 / SCALE_RANGE).view(np.int32)) >> SCALE_BIN_SHIFT
_SCALE_BINS = (int(np.float32(SCALE_RANGE).view(np.int32)) >> SCALE_BIN_SHIFT) - _LOWEST_SCALE_BIN + 1
_PIXEL_CENTRES = (np.arange(COLOUR_SIDE) + 0.5) / COLOUR_SIDE  # of the colour thumbnail's pixels, along a side


@dataclasses.dataclass(frozen=True)
class ImageFingerprint:
    hashes: bytes  # 8 x 32 bytes: the whole-image hash in each dihedral orientation, identity first
    centre_hashes: bytes  # 8 x 32 bytes: the same for the central region
    quality: int  # 0-100, PDQ-style gradient energy; 0 when the hash is noise
    colour: bytes  # COLOUR_SIDE x COLOUR_SIDE RGB of the working image, for the colour check
    luma: bytes  # LUMA_SIDE x LUMA_SIDE luminance of the working image, for the aligned check
    width: int  # working image (trimmed, at most WORK_SIDE on the long side)
    height: int
    points: bytes  # N x 2 uint16: keypoint (x, y) in working-image pixels x 8
    descriptors: bytes  # N x 32 ORB descriptors
    mirrored: bytes  # M x 32 descriptors of the mirrored image at the first M keypoints (mirrored)
    low_information: bool  # no trustworthy hash and hardly any real corners: flat, gradient, two-tone
    frame: tuple = (0.0, 0.0, 1.0, 1.0)  # (left, top, right, bottom) of the decoded image that trimming kept
    # 4 x RGB: the colour of the band trimming cut beyond the left, top, right and bottom side (band_colours; zeros
    # where nothing was cut, empty: not computed)
    bands: bytes = b""
    # uint16 visual word of each descriptor, then of each mirrored one (image_sketch; None: not computed)
    descriptor_words: bytes | None = None
    # N x 2 uint8: each keypoint's ORB angle (in 256ths of a turn) and pyramid level (None: not computed)
    keypoint_geometry: bytes | None = None

    @property
    def hash_words(self) -> np.ndarray:
        """The 8 whole-image hashes as 8 x 4 64-bit words (Hamming distances by popcount; hash_match uses
        hash_integers, these stay for code reading fingerprints this way, such as an older copy of this module)."""
        return np.frombuffer(self.hashes, dtype=np.uint64).reshape(8, 4)

    @property
    def centre_hash_words(self) -> np.ndarray:
        return np.frombuffer(self.centre_hashes, dtype=np.uint64).reshape(8, 4)

    # What compare() derives from the fields is kept on the object (functools.cached_property, read-only arrays):
    # a fingerprint meets many others in a join cell of the pipeline, in a catalog's candidates, in a benchmark. It
    # is never pickled (__getstate__), so a fingerprint's bytes are the fields' alone.

    def __getstate__(self) -> dict:
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}

    @functools.cached_property
    def keypoints(self) -> np.ndarray:
        return _read_only(np.frombuffer(self.points, dtype=np.uint16).reshape(-1, 2).astype(np.float32) / 8.0)

    @functools.cached_property
    def hash_integers(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The 8 whole-image hashes and the 8 central ones as 256-bit integers (hash_match)."""
        return tuple(tuple(int.from_bytes(packed[start:start + HASH_BYTES], "little")
                           for start in range(0, len(packed), HASH_BYTES))
                     for packed in (self.hashes, self.centre_hashes))

    @functools.cached_property
    def detail(self) -> float:
        """The luminance thumbnail's gradient energy (mean absolute difference of neighbouring pixels, 0-255), the
        order a pair is judged in (_judged_in_order)."""
        luma = np.frombuffer(self.luma, np.uint8).reshape(LUMA_SIDE, LUMA_SIDE).astype(np.int16)
        return float(np.abs(np.diff(luma, axis=0)).mean() + np.abs(np.diff(luma, axis=1)).mean())

    @functools.cached_property
    def caption_bars(self) -> tuple[float, float]:
        """The shares of the working image's height that a caption bar takes at its top and at its bottom
        (_caption_rows on the luminance thumbnail; 0 where none): trimming cuts a bar's plain margin and stops at its
        text. No part of the picture, so the overlap's share of the picture leaves it out (_overlap)."""
        luma = np.frombuffer(self.luma, np.uint8).reshape(LUMA_SIDE, LUMA_SIDE)
        return (_caption_rows(luma, self.frame[1] > 0) / LUMA_SIDE,
                _caption_rows(luma[::-1], self.frame[3] < 1) / LUMA_SIDE)

    @functools.cached_property
    def word_order(self) -> tuple[np.ndarray, np.ndarray]:
        """(the upright descriptors in the order of their visual words, stably; those words): the side of a word
        join (image_sketch.word_matches) looked up in."""
        order, words = word_order(np.frombuffer(self.descriptor_words, np.uint16)[:len(self.descriptors) // 32])
        return _read_only(order), _read_only(words)

    @functools.cached_property
    def low_pass_detail(self) -> np.ndarray:
        """Per luminance thumbnail pixel, the range (grey levels) of the thumbnail, blurred by one pixel, within
        FLAT_WINDOW pixels: the picture's content at low resolution, where noise and grain average out
        (_shared_pattern asks of both pictures, every fit)."""
        blurred = cv2.GaussianBlur(_luma(self), (0, 0), 1.0)
        window = np.ones((2 * FLAT_WINDOW + 1, 2 * FLAT_WINDOW + 1), np.uint8)
        return _read_only(cv2.dilate(blurred, window) - cv2.erode(blurred, window))

    @functools.cached_property
    def repeated(self) -> np.ndarray:
        """Per keypoint: has its descriptor a twin (within TWIN_DISTANCE bits) at another keypoint of the picture beyond
        TWIN_RADIUS working pixels, a tiled watermark's glyph? (_tiled_pattern asks of both pictures.)"""
        descriptors = np.frombuffer(self.descriptors, np.uint8).reshape(-1, 32)
        rows, columns = np.nonzero(_hamming_distances(descriptors, descriptors) <= TWIN_DISTANCE)
        apart = ((self.keypoints[rows] - self.keypoints[columns]) ** 2).sum(axis=1) > TWIN_RADIUS ** 2
        repeated = np.zeros(len(descriptors), bool)
        repeated[rows[apart]] = True
        return _read_only(repeated)

    @functools.cached_property
    def values(self) -> np.ndarray:
        """The colour thumbnail's HSV value, each pixel's largest channel (0-255, float32): _values_kept asks of both
        pictures."""
        return _read_only(_colour(self).max(axis=2))

    @functools.cached_property
    def few_colours(self) -> bool:
        """_few_colours of the colour thumbnail: a flat design (_block_agreement asks of both pictures, every fit)."""
        return _few_colours(_colour(self).reshape(-1, 3))

    @functools.cached_property
    def match_geometry(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Of each descriptor, upright then mirrored: (its keypoint as x + iy, float64, a mirrored one where verify()
        mirrors it; its ORB angle in 256ths of a turn, a mirrored one's as _keypoints computes it; its pyramid level),
        for word_matches_agree."""
        geometry = np.frombuffer(self.keypoint_geometry, np.uint8).reshape(-1, 2).astype(np.int16)
        points = np.frombuffer(self.points, np.uint16).reshape(-1, 2) / 8.0  # the values of keypoints, in float64
        count = len(self.mirrored) // 32
        mirrored = np.stack([self.width - 1.0 - points[:count, 0], points[:count, 1]], axis=1)
        return (_read_only(np.concatenate([points, mirrored]) @ (1, 1j)),
                _read_only(np.concatenate([geometry[:, 0], (128 - geometry[:count, 0]) % 256])),
                _read_only(np.concatenate([geometry[:, 1], geometry[:count, 1]])))


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclasses.dataclass(frozen=True)
class Evidence:
    """What the comparison found; the score is a calibrated function of it."""

    hash_distance: int  # best of whole-image and central-region hashes, any orientation
    hash_colour_change: float = 0.0  # colour_change() of the whole images in that orientation (if unverified)
    inliers: int = 0  # RANSAC inliers of the best keypoint transform (0: not verified)
    agreement: float = 0.0  # aligned check: fraction of overlapping blocks that agree
    covered: float = 0.0  # fraction of them an overlay covers, at most MAX_COVERED (_covered_share)
    coverage: float = 0.0  # fraction of grid cells with keypoints in the overlap that hold an inlier
    containment: float = 0.0  # overlap area / area of the image it covers most of (1: one holds all of the other)
    inlier_ratio: float = 0.0  # inliers / correspondences inside the overlap: tight for a copy, loose for another view
    recoloured: float = 0.0  # largest connected region of same-structure overlap blocks whose colour or luminance
    # a global colour mapping misses
    recoloured_element: bool = False  # a part recoloured is an element of the picture, its outline kept (_outline_kept)
    parallax: float = 0.0  # second_layer() inliers / inliers: another motion layer, as in another capture of the scene
    second_layer: int = 0  # second_layer() inliers: that layer's own size
    near_layer: bool = False  # _near_layer(): that layer is a region of its own, moved well beyond the first's fit
    coherent_residual: float = 0.0  # _coherent_residual() of the inliers, working pixels: a near layer within tolerance
    scene_goes_on: bool = False  # _scene_goes_on(): each picture shows the scene going on beyond the other's frame
    mirrored: bool = False  # the keypoint transform was found between one image and the other's mirror
    region: tuple = ()  # (left, top, right, bottom) of a's frame mapped into b, as fractions of b's size
    region_of_b: tuple = ()  # the same of b's frame mapped into a, as fractions of a's size (verify() judging (b, a))

    @property
    def verified(self) -> bool:
        return self.inliers > 0


@functools.lru_cache(maxsize=None, typed=True)
def _unverified(distance: int) -> Evidence:
    """Evidence(distance), made once per hash distance and shared (it is frozen): the evidence of every pair the word
    stage stops and where each of verify()'s fits starts, where making it (twenty fields set one by one) cost 2 us."""
    return Evidence(distance)


# --- decode and normalise -------------------------------------------------------------------------

def decode_image(blob: Blob, limits: Limits, mode: str = "RGB", min_side: int = WORK_SIDE) -> Image.Image:
    """Decode to ``mode`` (L or RGB) with EXIF orientation applied, refusing oversized images from the header."""
    try:
        image = Image.open(io.BytesIO(blob.read()))
    except Image.DecompressionBombError as e:  # Pillow's own cap, for images far beyond its default
        raise MediaError(ErrorCode.TOO_LARGE, str(e)) from None
    except UnidentifiedImageError:  # its message names a buffer's address: say it plainly, and the same every time
        raise MediaError(ErrorCode.DECODE_FAILED, "unrecognised or corrupt image data") from None
    except Exception as e:  # Pillow raises many types for unreadable input
        raise MediaError(ErrorCode.DECODE_FAILED, f"not a decodable image: {e}") from None
    width, height = image.size
    if width * height > limits.max_image_pixels:
        raise MediaError(ErrorCode.TOO_LARGE,
                         f"{width}x{height} pixels exceeds max_image_pixels={limits.max_image_pixels}")
    try:
        orientation = image.getexif().get(0x0112, 1)
        scale = max(1.0, max(width, height) / min_side)
        if image.format == "JPEG":
            # draft() decodes at 1/2, 1/4 or 1/8 scale (far less work for big photos), and in greyscale.
            image.draft(mode, (math.ceil(width / scale), math.ceil(height / scale)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own pixel cap applies
            image.load()  # the first frame of an animation; the others are never decoded
        image = _convert(image, mode)
        # Orientation after the draft: exif_transpose() first would force a full-size decode.
        if orientation in _ORIENTATION_TRANSPOSE:
            image = image.transpose(_ORIENTATION_TRANSPOSE[orientation])
    except MediaError:
        raise
    except Exception as e:
        raise MediaError(ErrorCode.DECODE_FAILED, f"image decode failed: {e}") from None
    return image


def _convert(image: Image.Image, mode: str) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert(mode)
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        pixels = np.asarray(image, dtype=np.float64)
        peak = max(pixels.max(), 1.0)
        return Image.fromarray((np.clip(pixels, 0, None) * (255.0 / peak)).astype(np.uint8)).convert(mode)
    return image if image.mode == mode else image.convert(mode)


def trim_borders(gray: np.ndarray, with_offset: bool = False):
    """Cut away uniform bands at each side (padding, letterbox); an image uniform all over is kept.
    With ``with_offset``: (trimmed, (rows cut at the top, columns cut at the left)).

    Measured on a copy of at most TRIM_SIDE pixels (a band's blurred inner edge stays, a few pixels)."""
    height, width = gray.shape
    factor = max(1.0, max(height, width) / TRIM_SIDE)
    small = gray if factor == 1.0 else cv2.resize(gray, (max(1, round(width / factor)), max(1, round(height / factor))),
                                                  interpolation=cv2.INTER_NEAREST)  # bands are uniform anyway
    top, bottom = _uniform_lines(small), _uniform_lines(small[::-1])
    left, right = _uniform_lines(small.T), _uniform_lines(small.T[::-1])
    if (not top + bottom + left + right or top + bottom >= small.shape[0] * 0.8 or left + right >= small.shape[1] * 0.8
            or small[top:small.shape[0] - bottom, left:small.shape[1] - right].std() < TRIM_TOLERANCE):
        top = bottom = left = right = 0  # nothing to cut, or what is left is flat too: a two-tone image
    top, bottom, left, right = (int(n * factor) for n in (top, bottom, left, right))
    trimmed = gray[top:height - bottom, left:width - right]
    return (trimmed, (top, left)) if with_offset else trimmed


def _uniform_lines(gray: np.ndarray) -> int:
    """How many leading rows of ``gray`` are (nearly) the level of its first row."""
    limit = int(len(gray) * TRIM_MAX_SIDE)
    level = int(np.median(gray[0]))
    for count, row in enumerate(gray[:limit]):  # most images stop at the first row
        if (np.abs(row.astype(np.int16) - level) <= TRIM_TOLERANCE).mean() < TRIM_MIN_UNIFORM:
            # Past a band, also cut the blurred line where it met the picture, so the next pass starts clean.
            return min(limit, count + TRIM_EDGE) if count else 0
    return limit


def _caption_rows(luma: np.ndarray, band_cut: bool) -> int:
    """How many leading rows of ``luma`` (a thumbnail) a caption bar takes, or 0: lines of text (and a sticker) on the
    level of the first, at least CAPTION_GROUND of each line's pixels at it, up to the picture: a line under
    PICTURE_GROUND at that level with detail of its own, within a line of the band's end (the thumbnail blurs the edge).
    The bar's plain outer margin was cut by trimming (``band_cut``) or its first line is uniform. A design's line of
    text on its own ground is no bar where its ground goes on past it, nor where a plain part (a UI's body, a card)
    starts after it."""
    limit = int(len(luma) * TRIM_MAX_SIDE)
    level = int(np.median(luma[0]))
    at_level = (np.abs(luma[:limit].astype(np.int16) - level) <= TRIM_TOLERANCE).mean(axis=1)
    off = np.flatnonzero(at_level < CAPTION_GROUND)
    if len(off) == 0 or off[0] < 2 or not (band_cut or at_level[0] >= TRIM_MIN_UNIFORM):
        return 0
    edge = off[0] + int(np.argmin(at_level[off[0]:off[0] + 2]))
    first = luma[edge].astype(np.int16)
    if at_level[edge] >= PICTURE_GROUND or (np.abs(first - int(np.median(first))) <= TRIM_TOLERANCE).mean() >= \
            TRIM_MIN_UNIFORM:
        return 0
    return int(off[0])


def working_image(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """(greyscale, colour, frame) of the trimmed image scaled to WORK_SIDE on its long side (small images are
    enlarged, so thumbnails get keypoints at the scales of their originals) and to COLOUR_SIDE square; frame:
    what trimming kept, (left, top, right, bottom) as fractions of the image's width and height."""
    gray = original = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    top = left = 0
    for _ in range(TRIM_PASSES):  # until nothing changes: padding around a photo's own flat margin
        trimmed, (dy, dx) = trim_borders(gray, with_offset=True)
        if trimmed.shape == gray.shape or min(np.divide(trimmed.shape, original.shape)) < TRIM_MIN_KEPT:
            break  # a photo that is mostly flat margin (night sky, dark foreground) keeps it
        gray, top, left = trimmed, top + dy, left + dx
    height, width = gray.shape
    frame = (left / original.shape[1], top / original.shape[0],
             (left + width) / original.shape[1], (top + height) / original.shape[0])
    colour = cv2.resize(rgb[top:top + height, left:left + width], (COLOUR_SIDE, COLOUR_SIDE),
                        interpolation=cv2.INTER_AREA)
    scale = WORK_SIDE / max(width, height)
    if scale != 1:
        gray = cv2.resize(gray, (max(1, round(width * scale)), max(1, round(height * scale))),
                          interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    return np.ascontiguousarray(gray), colour, frame


def band_colours(rgb: np.ndarray, frame: tuple) -> bytes:
    """The colour (RGB, uint8) of the band trimming cut beyond each side of ``frame`` (left, top, right, bottom;
    zeros where nothing was cut): the median of its line next to the picture, past the blurred edge trimming cut
    with it (TRIM_EDGE lines of the TRIM_SIDE copy). A recolour can lie in such a band (a design's coloured top bar
    or ground), which no thumbnail of the kept picture shows (_band_ring)."""
    height, width = rgb.shape[:2]
    factor = max(1.0, max(height, width) / TRIM_SIDE)
    skip, strip = math.ceil((TRIM_EDGE + 1) * factor), math.ceil(factor)
    left, top = round(frame[0] * width), round(frame[1] * height)
    right, bottom = round(frame[2] * width), round(frame[3] * height)
    kept_rows, kept_columns = rgb[top:bottom].swapaxes(0, 1), rgb[:, left:right]  # lines outward from each side
    colours = np.zeros((4, 3), np.uint8)
    for side, (cut, lines) in enumerate(((left, kept_rows), (top, kept_columns), (width - right, kept_rows[::-1]),
                                         (height - bottom, kept_columns[::-1]))):
        if cut > 0:
            end = max(1, cut - skip)
            colours[side] = np.median(lines[max(0, end - strip):end].reshape(-1, 3), axis=0)
    return colours.tobytes()


# --- global stage: DCT hashes ---------------------------------------------------------------------

def _dct_coefficients(luma: np.ndarray) -> np.ndarray:
    """16x16 low-frequency DCT coefficients (DC excluded) of a 64x64 luminance grid."""
    return _DCT @ luma @ _DCT.T


def _dihedral(coefficients: np.ndarray) -> list[np.ndarray]:
    """The coefficients of the 8 flips/rotations of the image, derived without touching pixels."""
    mirror_cols = coefficients * _ODD[np.newaxis, :]
    mirror_rows = coefficients * _ODD[:, np.newaxis]
    both = mirror_cols * _ODD[:, np.newaxis]
    variants = [coefficients, mirror_cols, mirror_rows, both]
    return variants + [v.T for v in variants]


def _dihedral_hashes(gray: np.ndarray) -> tuple[bytes, np.ndarray, np.ndarray]:
    luma = cv2.resize(gray, (_GRID64, _GRID64), interpolation=cv2.INTER_AREA).astype(np.float64)
    coefficients = _dct_coefficients(luma)
    variants = np.stack(_dihedral(coefficients)).reshape(8, -1)
    bits = (variants > np.median(variants, axis=1, keepdims=True)).astype(np.uint8)  # (each row's median: the same)
    return np.packbits(bits, axis=1).tobytes(), luma, coefficients


def _quality(luma: np.ndarray, coefficients: np.ndarray) -> int:
    """PDQ's gradient-energy quality (0-100); 0 when the hashed DCT band is (nearly) empty, as for
    a pure gradient or a two-tone split, whose hash bits would be rounding noise."""
    if np.sqrt(np.mean(coefficients ** 2)) < MIN_BAND_RMS:
        return 0
    gradient = np.abs(np.diff(luma, axis=0)).sum() + np.abs(np.diff(luma, axis=1)).sum()
    return int(min(100, gradient / 255.0 / 90.0 * 100.0))


def _judged_in_order(a: ImageFingerprint, b: ImageFingerprint) -> bool:
    """Is the pair judged as given, a's picture looked for in b, or as (b, a)? Its answer must not depend on which
    column of a pairs file holds which picture (round symm19), and many rules are one-sided (a's descriptors searched
    among b's, b may show a's whole picture, the cell and the caption bars found on b's grid, an overlay's blocks
    found in b): the picture with less detail (ImageFingerprint.detail) is judged as a. A caption, stripes,
    stickers, a watermark, the next cells of a collage or a meme's bars all add edges to a copy, and those rules
    were built and fitted with the original as a (on the tuning split, the copy of an inset into a collage is
    found from its original as a in 61 of 62 pairs, as b in 42); a copy with less detail (a thumbnail, blur) is
    found either way. Equal detail: by the fingerprints' bytes, so the order is one for any two fingerprints."""
    return ((a.detail, a.hashes, a.centre_hashes, a.luma, a.colour, a.points, a.descriptors, a.mirrored)
            <= (b.detail, b.hashes, b.centre_hashes, b.luma, b.colour, b.points, b.descriptors, b.mirrored))


def hash_match(a: ImageFingerprint, b: ImageFingerprint) -> tuple[int, int]:
    """(smallest Hamming distance between one's upright hash and the other's in any orientation, whole image or
    centre; that orientation: a looks like _orient(b, orientation)), the upright hash the first's in the order the
    pair is judged in (_judged_in_order: the 8 orientations' hashes are not exact permutations of each other's bits,
    each thresholded at its own median, so the distance of (a, b) and of (b, a) may differ by a few bits)."""
    if _judged_in_order(a, b):
        return _hash_match(a, b)
    distance, orientation = _hash_match(b, a)
    return distance, _INVERSE_ORIENTATION[orientation]


def _hash_match(a: ImageFingerprint, b: ImageFingerprint) -> tuple[int, int]:
    """hash_match() with a's upright hash. On Python's integers: sixteen 256-bit popcounts cost less than the numpy
    calls that would do them."""
    wholes, centres = a.hash_integers
    whole, centre = wholes[0], centres[0]
    distances = [min((whole ^ other_whole).bit_count(), (centre ^ other_centre).bit_count())
                 for other_whole, other_centre in zip(*b.hash_integers)]
    distance = min(distances)
    return distance, distances.index(distance)


def hash_distance(a: ImageFingerprint, b: ImageFingerprint) -> int:
    return hash_match(a, b)[0]


def _orient(image: np.ndarray, orientation: int) -> np.ndarray:
    """The flip/rotation of a square thumbnail that _dihedral's ``orientation`` stands for."""
    if orientation & 1:
        image = image[:, ::-1]
    if orientation & 2:
        image = image[::-1]
    return image.swapaxes(0, 1) if orientation >= 4 else image


_PROBE = np.arange(4).reshape(2, 2)
# orientation -> its inverse: _orient(_orient(x, o), _INVERSE_ORIENTATION[o]) is x (a flip then a transpose is undone
# by the transpose, then the flip of the other axis)
_INVERSE_ORIENTATION = tuple(next(j for j in range(8) if np.array_equal(_orient(_orient(_PROBE, i), j), _PROBE))
                             for i in range(8))


# --- keypoints ------------------------------------------------------------------------------------

def _orb(fast_threshold: int = FAST_THRESHOLD):
    if fast_threshold not in _ORB:
        _ORB[fast_threshold] = cv2.ORB_create(nfeatures=ORB_DETECT, fastThreshold=fast_threshold)
    return _ORB[fast_threshold]


def _grid_cells(keypoints, width: int, height: int) -> np.ndarray:
    """The cell of the GRID x GRID selection grid (row-major) each keypoint lies in."""
    xy = cv2.KeyPoint_convert(keypoints).reshape(-1, 2)
    return (np.minimum(xy[:, 1] * GRID // height, GRID - 1) * GRID
            + np.minimum(xy[:, 0] * GRID // width, GRID - 1)).astype(np.int64)


def _spread_keypoints(keypoints, width: int, height: int, count: int):
    """The ``count`` strongest keypoints taken round-robin over a GRID x GRID grid of cells."""
    if not keypoints:
        return []
    response = np.array([k.response for k in keypoints])
    return [keypoints[i] for i in _spread(_grid_cells(keypoints, width, height), response, count)]


def _spread(cell: np.ndarray, response: np.ndarray, count: int) -> np.ndarray:
    """_spread_keypoints on the keypoints' grid cells and responses: the indices of those it takes, in its order. (On
    arrays: a keypoint's attributes cost a Python call each, and a detection has thousands.)"""
    if len(cell) <= count:
        return np.argsort(-response, kind="stable")  # strongest first (as sorted() orders them)
    order = np.lexsort((-response, cell))  # by cell, strongest first within a cell
    rank = np.empty(len(cell), dtype=np.int64)
    sorted_cells = cell[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_cells)) + 1]
    rank[order] = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    return np.lexsort((-response, rank))[:count]  # all cells' best, then all cells' second best, ...


def _with_coarse_keypoints(keypoints, width: int, height: int):
    """The KEYPOINTS strongest spread over the grid (_spread_keypoints), then COARSE_KEYPOINTS more of those left
    from pyramid level COARSE_LEVEL up, spread alike. A corner is sharper (its response higher) at the finest
    levels, so a sharp picture's strongest keypoints, a flat design's most, are nearly all from them, and a copy
    shown at a half to a quarter of the size (a design inside a post, a thumbnail) has its corners where the
    original kept almost none."""
    cell, response = _grid_cells(keypoints, width, height), np.array([k.response for k in keypoints])
    chosen = _spread(cell, response, KEYPOINTS)
    coarse = np.array([k.octave >= COARSE_LEVEL for k in keypoints], bool)
    coarse[chosen] = False
    coarse = np.flatnonzero(coarse)
    return [keypoints[i] for i in chosen] + [keypoints[i] for i in coarse[_spread(cell[coarse], response[coarse],
                                                                                   COARSE_KEYPOINTS)]]


def _starved_cell_keypoints(gray: np.ndarray, keypoints) -> list:
    """Up to STARVED_KEYPOINTS corners (at FAST_THRESHOLD, spread over the grid) of the grid cells where the detection
    kept fewer than STARVED_CELL, found again in those cells alone. ORB keeps its ORB_DETECT strongest corners over
    the whole image: a dark, smooth picture in a collage cell or a meme beside richly textured ones loses all its
    corners to theirs, though alone it has plenty at the same threshold (round imageq12-cells)."""
    height, width = gray.shape
    cells = _grid_cells(keypoints, width, height)
    starved = np.bincount(cells, minlength=GRID * GRID) < STARVED_CELL
    if not starved.any():
        return []
    mask = cv2.resize(starved.reshape(GRID, GRID).astype(np.uint8) * 255, (width, height),
                      interpolation=cv2.INTER_NEAREST)
    found = _orb().detect(gray, mask)
    if not found:
        return []
    # A corner kept already lies where it is found again, in the same cell: only the kept ones in the cells of those
    # found are compared (a Python call per keypoint's place, and the detection kept thousands elsewhere).
    near = np.flatnonzero(np.isin(cells, _grid_cells(found, width, height)))
    kept = {(keypoints[i].pt, keypoints[i].octave) for i in near}
    return _spread_keypoints([k for k in found if (k.pt, k.octave) not in kept], width, height, STARVED_KEYPOINTS)


def _keypoints(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray]:
    """(points N x 2, descriptors N x 32, mirrored descriptors M x 32, corners found at the normal threshold,
    geometry N x 2 uint8: angle in 256ths of a turn and pyramid level)."""
    height, width = gray.shape
    empty = (np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8), np.zeros((0, 32), np.uint8), 0,
             np.zeros((0, 2), np.uint8))
    cumulative = np.cumsum(np.bincount(gray.ravel(), minlength=256)) / gray.size
    low, high = np.searchsorted(cumulative, (0.01, 0.99))  # 1st and 99th percentiles, cheaply
    # Stretched contrast: the corner threshold then means the same on dark, hazy and contrasty photos.
    gray = cv2.convertScaleAbs(gray, alpha=255.0 / max(high - low, 16.0), beta=-low * 255.0 / max(high - low, 16.0))
    keypoints = _orb().detect(gray, None)
    strong = len(keypoints)
    starved = []  # kept after the usual selection, which they leave as it was
    if strong < KEYPOINTS:  # smooth image: take weaker corners too
        keypoints = _orb(FAST_THRESHOLD_LOW).detect(gray, None)
    else:
        starved = _starved_cell_keypoints(gray, keypoints)
    if not keypoints:
        return empty[:3] + (strong,) + empty[4:]
    keypoints, descriptors = _orb().compute(gray, _with_coarse_keypoints(keypoints, width, height) + starved)
    if descriptors is None:
        return empty[:3] + (strong,) + empty[4:]
    points = cv2.KeyPoint_convert(keypoints).reshape(-1, 2)
    # The mirror image's descriptors at the mirrored keypoints: ORB keeps the given angle, mirrored too.
    mirrored_keypoints = [cv2.KeyPoint(width - 1 - k.pt[0], k.pt[1], k.size, (180.0 - k.angle) % 360.0, k.response,
                                       k.octave) for k in keypoints[:MIRRORED_KEYPOINTS]]
    kept, mirrored = _orb().compute(cv2.flip(gray, 1), mirrored_keypoints)
    if mirrored is None or len(kept) != len(mirrored_keypoints):
        mirrored = np.zeros((0, 32), np.uint8)
    geometry = np.array([(round(k.angle * 256 / 360) % 256, k.octave) for k in keypoints], np.uint8).reshape(-1, 2)
    return points, descriptors, mirrored, strong, geometry


# --- fingerprint ----------------------------------------------------------------------------------

def fingerprint_image(image: Image.Image) -> ImageFingerprint:
    """The fingerprint of an RGB image."""
    rgb = np.asarray(image)  # (a copy of the decoded pixels: made once)
    gray, colour, frame = working_image(rgb)
    height, width = gray.shape
    hashes, luma, coefficients = _dihedral_hashes(gray)
    centre = gray[height // 5:height - height // 5, width // 5:width - width // 5]  # central 60% x 60%
    centre_hashes = _dihedral_hashes(centre if centre.size else gray)[0]
    points, descriptors, mirrored, strong_corners, geometry = _keypoints(gray)
    quality = _quality(luma, coefficients)
    return ImageFingerprint(
        hashes=hashes, centre_hashes=centre_hashes, quality=quality,
        colour=colour.tobytes(),
        luma=cv2.resize(gray, (LUMA_SIDE, LUMA_SIDE), interpolation=cv2.INTER_AREA).tobytes(),
        width=width, height=height, points=np.round(points * 8).astype(np.uint16).tobytes(),
        descriptors=descriptors.tobytes(), mirrored=mirrored.tobytes(),
        low_information=quality < MIN_QUALITY and strong_corners < MIN_KEYPOINTS,
        frame=tuple(round(v, 4) for v in frame), bands=band_colours(rgb, frame),
        descriptor_words=visual_words(np.vstack([descriptors, mirrored])).tobytes(),
        keypoint_geometry=geometry.tobytes())


# --- local verification ---------------------------------------------------------------------------

def _correspondences(query: np.ndarray, train: np.ndarray, upright: int | None = None,
                     train_points: np.ndarray | None = None) -> tuple[np.ndarray, Callable[[], np.ndarray], np.ndarray]:
    """((query index, train index) pairs that pass the ratio test (_nearest_train), each train descriptor in at most
    one of them (per set of queries: those before ``upright`` and the others; _one_to_one); a function giving them
    with the mutual nearest descriptors too, from the same distances; those distances, _hamming_distances).

    The mutual nearest: a pair whose descriptors are each other's nearest (a's within its set) within MUTUAL_DISTANCE
    bits, whatever its rival. A tiled watermark repeats one word's corners all over a design, and a thumbnail enlarged
    from 100 px blurs its corners alike, so a's corner has look-alikes in b close to its true one and fails the ratio
    test while still being b's nearest to it and it to b's. verify() asks for them only where the ratio test's
    correspondences verify nothing: between unrelated photos they are mostly chance pairs, and fitting them costs."""
    distances = _hamming_distances(query, train)
    distance, nearest, passed = _nearest_train(distances, train_points)
    upright = len(query) if upright is None else upright

    def with_mutual() -> np.ndarray:
        return _ratio_pairs(distance, nearest, passed | _mutual_nearest(query, train, distance, nearest, passed,
                                                                         upright), upright)

    return _ratio_pairs(distance, nearest, passed, upright), with_mutual, distances


def _hamming_distances(query: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Every query descriptor's Hamming distance to every train descriptor (N x 32 packed bits each; int32, queries
    by rows), by FAISS's popcount kernel on one thread. verify() reads the nearest of each query, the rivals of a few
    and the nearest query of some train descriptors off this one table: a third cheaper than FAISS's search for the
    two nearest alone, and the searches after it come free."""
    distances = np.empty((len(query), len(train)), np.int32)
    if distances.size:
        faiss.hammings(faiss.swig_ptr(np.ascontiguousarray(query)), faiss.swig_ptr(np.ascontiguousarray(train)),
                       len(query), len(train), 32, faiss.swig_ptr(distances))
    return distances


def _nearest_train(distances: np.ndarray,
                   train_points: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per query (a row of ``distances``, _hamming_distances): (the distance of its nearest train descriptor, that
    descriptor's index, whether it passes Lowe's ratio test). Of equally near descriptors the first is the nearest
    (as FAISS's search orders neighbours: by distance, then id).

    With ``train_points`` the ratio test weighs the nearest descriptor against the nearest one elsewhere
    (_rival_elsewhere): ORB finds a flat design's sharp corner at several pyramid levels, with nearly the same
    descriptor at one place, and those are no rival to each other. The further nearest are looked at only for a query
    whose two nearest lie at one place and which the second nearest alone would fail (a tenth of a photo's queries)."""
    count, train_count = distances.shape
    if count < 1 or train_count < 2:
        return np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, bool)
    rows = np.arange(count)
    nearest = distances.argmin(axis=1)
    nearest_distance = distances[rows, nearest]
    distances[rows, nearest] = np.iinfo(np.int32).max  # (for a moment: the second nearest is the nearest of the rest)
    runner_up = distances.argmin(axis=1)
    second = distances[rows, runner_up]
    distances[rows, nearest] = nearest_distance
    if train_points is not None and train_count > 2:
        # (take() rather than indexing: numpy's indexing of rows this narrow costs ten times as much)
        offsets = train_points.take(runner_up, axis=0) - train_points.take(nearest, axis=0)
        at_one_place = np.einsum("ij,ij->i", offsets, offsets) <= SAME_PLACE_PX ** 2  # (as _rival_elsewhere's)
        # (One that passes the test against the second nearest passes it against its rival, which is no nearer.)
        rivalled = (at_one_place & (nearest_distance >= RATIO * second)
                    & (nearest_distance <= MAX_DESCRIPTOR_DISTANCE)).nonzero()[0]
        if len(rivalled):
            second[rivalled] = _rival_elsewhere(distances, rivalled, nearest, runner_up, train_points)
    passed = (nearest_distance < RATIO * second) & (nearest_distance <= MAX_DESCRIPTOR_DISTANCE)
    return nearest_distance, nearest, passed


def _ratio_pairs(distance: np.ndarray, nearest: np.ndarray, kept: np.ndarray, upright: int) -> np.ndarray:
    """The (query index, train index) pairs of the ``kept`` queries and their nearest, one to one (_one_to_one)."""
    query = kept.nonzero()[0]
    pairs = np.empty((len(query), 2), np.int64)  # (filled column by column: a third of np.stack's time)
    pairs[:, 0], pairs[:, 1] = query, nearest[query]
    return _one_to_one(pairs, distance[query], upright)


def _mutual_nearest(query: np.ndarray, train: np.ndarray, distance: np.ndarray, nearest: np.ndarray,
                    passed: np.ndarray, upright: int) -> np.ndarray:
    """Per query: not ``passed``, within MUTUAL_DISTANCE of its nearest train descriptor ``nearest``, and, of its
    set (the queries before ``upright`` or the others), the nearest to that descriptor (the first of equals)?
    (``query``, ``train``: the descriptors; only those train descriptors' distances to the set are asked for, each
    once: between unrelated photos two or three of the asked queries share one.)"""
    mutual = ~passed & (distance <= MUTUAL_DISTANCE)
    bounds = [0, upright, len(query)]
    nearest_query = np.empty(len(train), np.int64)  # of a set, per train descriptor read
    for start, end in zip(bounds, bounds[1:]):
        asked = start + mutual[start:end].nonzero()[0]
        if len(asked):
            read = np.zeros(len(train), bool)
            read[nearest[asked]] = True
            columns = read.nonzero()[0]
            # (The distances computed again, train descriptors by rows: the first of equals along a row is that along
            # a column of the whole table, and the table's columns gathered and reduced cost twice as much.)
            nearest_query[columns] = _hamming_distances(train.take(columns, axis=0), query[start:end]).argmin(axis=1)
            mutual[asked] = nearest_query[nearest[asked]] == asked - start
    return mutual


def _rival_elsewhere(distances: np.ndarray, rivalled: np.ndarray, nearest: np.ndarray, runner_up: np.ndarray,
                     points: np.ndarray) -> np.ndarray:
    """Per ``rivalled`` query (a row of ``distances``, whose ``nearest`` and ``runner_up`` train descriptors lie within
    SAME_PLACE_PX of each other): the distance of its nearest neighbour of rank 3 to RIVALS (by distance, then id: as
    FAISS's search ranks them) lying further than SAME_PLACE_PX from its nearest one; the last rank's when all lie
    there (a lower bound). One rank at a time, an argmin over the row with the ranks before it masked, the next rank
    only for the queries whose rival still lies at that place (a few): cheaper than ranking RIVALS in every row."""
    rest = distances.take(rivalled, axis=0)
    query = np.arange(len(rivalled))
    rest[query, nearest[rivalled]] = rest[query, runner_up[rivalled]] = np.iinfo(np.int32).max
    rival_distance = np.empty(len(rivalled), distances.dtype)
    for _ in range(min(RIVALS, distances.shape[1]) - 2):
        rows = np.arange(len(query))
        rival = rest.argmin(axis=1)
        rival_distance[query] = rest[rows, rival]
        offsets = points.take(rival, axis=0) - points.take(nearest[rivalled[query]], axis=0)
        here = np.einsum("ij,ij->i", offsets, offsets) <= SAME_PLACE_PX ** 2  # (multiples of 1/64 px^2: exact)
        if not here.any():
            break
        rest[rows, rival] = np.iinfo(np.int32).max
        rest, query = rest.compress(here, axis=0), query[here]
    return rival_distance


def _one_to_one(pairs: np.ndarray, distances: np.ndarray, upright: int) -> np.ndarray:
    """Of the pairs sharing a train descriptor (within the upright queries, or within the mirrored ones), only the
    closest (the first on a tie), in query order. A flat design's descriptors of nearly uniform patches (a weak
    corner on a flat area, an anti-aliased edge) are each other's nearest neighbours: one such descriptor of b can
    be the nearest of dozens of a's and pass their ratio tests, and RANSAC then fits a transform that collapses
    them all onto that one point (scale 0) instead of the copy's true one. ``pairs`` in query order (as both callers
    make them)."""
    if len(pairs) < 2:
        return pairs
    target = pairs[:, 1] * 2 + (pairs[:, 0] >= upright)  # (a train descriptor within a set of queries)
    # By target, closest first, then by query: one integer key (distances of 256-bit descriptors are at most 256),
    # sorted stably (the pairs are in query order), where a sort on each of the four keys in turn takes twice as long
    order = (target * 257 + distances.astype(np.int64)).argsort(kind="stable")
    ordered = target[order]
    first = np.empty(len(order), bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return pairs.take(np.sort(order[first]), axis=0)


def _look_alike_candidates(a: ImageFingerprint, b: ImageFingerprint, distances: np.ndarray) -> np.ndarray:
    """(a's descriptor, b's descriptor) pairs, a's upright and mirrored descriptors stacked as verify() stacks them
    (``distances``: _hamming_distances of those to b's): each of a's LOOK_ALIKES nearest within MUTUAL_DISTANCE,
    those turned alike (_turned_alike), in query order."""
    rows = (distances.min(axis=1) <= MUTUAL_DISTANCE).nonzero()[0]
    count = min(LOOK_ALIKES, distances.shape[1])
    if not len(rows) or not count:
        return np.zeros((0, 2), np.int64)
    near = distances.take(rows, axis=0)
    train = np.argpartition(near, count - 1, axis=1)[:, :count]
    close = np.take_along_axis(near, train, axis=1).ravel() <= MUTUAL_DISTANCE
    pairs = np.stack([np.repeat(rows, count), train.ravel()], axis=1).compress(close, axis=0)
    return pairs.compress(_turned_alike(a, b, pairs), axis=0)


def _turned_alike(a: ImageFingerprint, b: ImageFingerprint, pairs: np.ndarray) -> np.ndarray:
    """Per pair: is the turn of its ORB angles (b's less a's) within a bin of TURN_BINS of the most common turn of its
    set (a's upright descriptors, or its mirrored ones)? A copy turns all its corners alike; the look-alikes of a
    circle's edge or of a polygon's corners point every way round it (ORB's angle is the patch's own direction)."""
    (_, angle_a, _), (_, angle_b, _) = a.match_geometry, b.match_geometry
    turn_bin = (angle_b[pairs[:, 1]] - angle_a[pairs[:, 0]]) % 256 * TURN_BINS // 256
    alike = np.zeros(len(pairs), bool)
    for in_set in (pairs[:, 0] < len(a.descriptors) // 32, pairs[:, 0] >= len(a.descriptors) // 32):
        if in_set.any():
            counts = np.bincount(turn_bin[in_set], minlength=TURN_BINS)
            common = int((counts + np.roll(counts, 1) + np.roll(counts, -1)).argmax())  # (a bin and its neighbours)
            alike |= in_set & ((turn_bin - common + 1) % TURN_BINS <= 2)
    return alike


def _look_alike_correspondences(a: ImageFingerprint, b: ImageFingerprint, distances: np.ndarray) -> np.ndarray:
    """The pairs of _look_alike_candidates that RANSAC's fit of each set (upright, mirrored) explains, one of each of
    a's descriptors (its closest) and one of each of b's (_one_to_one), in query order; none of a set whose fit
    keeps under LOOK_ALIKE_KEPT of a's colours (_kept_colours)."""
    candidates = _look_alike_candidates(a, b, distances)
    upright = len(a.descriptors) // 32
    chosen = []
    for mirrored in (False, True):
        pairs = candidates.compress((candidates[:, 0] >= upright) == mirrored, axis=0)
        if len(pairs) < MIN_INLIERS:
            continue
        source = a.keypoints.take(pairs[:, 0] - upright * mirrored, axis=0)
        if mirrored:
            source = _mirrored(source, a.width)
        transform, inliers = _fit_transform(source, b.keypoints.take(pairs[:, 1], axis=0))
        if transform is None or inliers.sum() < MIN_INLIERS:
            continue
        if mirrored:  # (the transform on a's upright frame: x -> mirror(x) -> transform)
            transform = transform @ _mirror(a.width)
        if _kept_colours(transform, a, b) < LOOK_ALIKE_KEPT:
            continue
        pairs = pairs.compress(inliers, axis=0)
        closest = distances[pairs[:, 0], pairs[:, 1]]
        order = np.lexsort((closest, pairs[:, 0]))  # (per query, the closest first)
        first = order[np.concatenate([[True], pairs[order[1:], 0] != pairs[order[:-1], 0]])]
        chosen.append(_one_to_one(pairs.take(np.sort(first), axis=0), closest[np.sort(first)], upright))
    return np.concatenate(chosen) if chosen else np.zeros((0, 2), np.int64)


def _same_picture_correspondences(a: ImageFingerprint, b: ImageFingerprint, transform: np.ndarray) -> np.ndarray:
    """(a's upright descriptor, b's descriptor) pairs on the hypothesis that b shows a's whole picture (``transform``,
    from _same_picture: a tiled watermark over it, a thumbnail of it): each of a's keypoints is paired with the closest
    of b's descriptors within SAME_PICTURE_RADIUS of its place there and SAME_PICTURE_DISTANCE bits, one to one. The
    place stands in for the ratio test: a watermark's word repeated over a design gives its corners look-alikes all
    over b, but not at their own places."""
    offsets = _project(transform, a.keypoints)[:, np.newaxis, :] - b.keypoints[np.newaxis, :, :]
    query, train = np.nonzero(np.einsum("ijk,ijk->ij", offsets, offsets) <= SAME_PICTURE_RADIUS ** 2)
    words_a = np.frombuffer(a.descriptors, np.uint64).reshape(-1, 4)  # a descriptor's 256 bits as 4 words
    words_b = np.frombuffer(b.descriptors, np.uint64).reshape(-1, 4)
    distances = np.bitwise_count(words_a[query] ^ words_b[train]).sum(axis=1)
    close = distances <= SAME_PICTURE_DISTANCE
    query, train, distances = query[close], train[close], distances[close]
    order = np.lexsort((distances, query))  # per query, the closest descriptor first
    first = order[np.concatenate([[True], query[order][1:] != query[order][:-1]])] if len(order) else order
    return _one_to_one(np.stack([query[first], train[first]], axis=1), distances[first], len(words_a))


def _whole_picture(a: ImageFingerprint, b: ImageFingerprint) -> np.ndarray | None:
    """The transform of a's working image to b's if b shows a's whole decoded picture, or None where the decoded
    pictures differ in shape (3x3: a scale per axis and a shift, through the parts trimming kept, ``frame``: a logo
    whose margin one trimmed and the other kept for a badge on it maps alike)."""
    (left_a, top_a, right_a, bottom_a), (left_b, top_b, right_b, bottom_b) = a.frame, b.frame
    width_a, height_a = a.width / (right_a - left_a), a.height / (bottom_a - top_a)  # the decoded pictures' shapes
    width_b, height_b = b.width / (right_b - left_b), b.height / (bottom_b - top_b)
    if abs(width_a / height_a * height_b / width_b - 1.0) > SAME_PICTURE_ASPECT:
        return None
    return np.array([[width_b / width_a, 0.0, (left_a - left_b) * width_b],
                     [0.0, height_b / height_a, (top_a - top_b) * height_b], [0.0, 0.0, 1.0]])


def _at_their_places(transform: np.ndarray, a: ImageFingerprint, b: ImageFingerprint, query: np.ndarray,
                     train: np.ndarray) -> int:
    """How many of the pairs (a's descriptor ``query``, b's descriptor ``train``) (a's upright and mirrored descriptors
    stacked, as verify() stacks them; the mirrored ones are not counted) join keypoints within SAME_PICTURE_RADIUS of
    each other under ``transform``. ``query`` in ascending order (both callers' pairs are), so the upright ones lead."""
    upright = int(query.searchsorted(len(a.descriptors) // 32))
    if not upright:
        return 0
    offsets = (_project(transform, a.keypoints.take(query[:upright], axis=0))
               - b.keypoints.take(train[:upright], axis=0))
    return int(np.count_nonzero(np.einsum("ij,ij->i", offsets, offsets) <= SAME_PICTURE_RADIUS ** 2))


def _values_kept(transform: np.ndarray, a: ImageFingerprint, b: ImageFingerprint) -> float:
    """The share of b's colour blocks inside a's picture under ``transform`` (_whole_picture's: a scale per axis and
    a shift) whose mean value (``values``) is within SAME_PICTURE_VALUE_TOLERANCE of a's there, a's thumbnail pixels
    taken at b's pixels' centres: about the share _same_picture's colour check finds kept, or more (a block's colours
    kept, or their hues turned alike, keep each pixel's largest channel), for a small part of its cost (one channel,
    no warp, no colour fitted)."""
    if a.frame == b.frame:  # (trimming kept the same part of both: each of b's pixels' centres falls in a's own pixel)
        difference = a.values - b.values
    else:
        columns = np.floor((_PIXEL_CENTRES * b.width - transform[0, 2]) / (transform[0, 0] * a.width) * COLOUR_SIDE)
        rows = np.floor((_PIXEL_CENTRES * b.height - transform[1, 2]) / (transform[1, 1] * a.height) * COLOUR_SIDE)
        inside_columns, inside_rows = (  # b's pixels in the blocks that lie wholly inside a's picture
            np.repeat(((x >= 0) & (x < COLOUR_SIDE)).reshape(-1, COLOUR_BLOCK).all(axis=1), COLOUR_BLOCK)
            for x in (columns, rows))
        if not inside_columns.any() or not inside_rows.any():
            return 0.0
        difference = (a.values[rows[inside_rows].astype(int)][:, columns[inside_columns].astype(int)]
                      - b.values[inside_rows][:, inside_columns])
    height, width = difference.shape
    block_differences = difference.reshape(height // COLOUR_BLOCK, COLOUR_BLOCK, width // COLOUR_BLOCK,
                                           COLOUR_BLOCK).sum(axis=(1, 3))
    return np.count_nonzero(np.abs(block_differences) <= SAME_PICTURE_VALUE_TOLERANCE * COLOUR_BLOCK ** 2) \
        / block_differences.size


def _same_picture(a: ImageFingerprint, b: ImageFingerprint, found: np.ndarray) -> np.ndarray | None:
    """The transform of a's working image to b's if b shows a's whole decoded picture (_whole_picture), or None: the
    decoded pictures differ in shape; fewer than SAME_PICTURE_SUPPORT of the
    correspondences ``found`` so far (a's upright and mirrored descriptors to b's, as verify() stacks them) lie at their
    places under it (the hypothesis is one the search already points to: an unrelated pair's chance correspondences
    lie anywhere) and fewer than SAME_PICTURE_SUPPORT of a's keypoints are found at their places by their descriptors
    (_same_picture_correspondences) or under SAME_PICTURE_ALL_UNCHANGED of the colour blocks keep their colours (round
    art26: letters heavy enough to leave a design's corners few descriptors also give them rivals elsewhere, so the
    search finds two or three at their places; with the colours of nearly every block kept the hypothesis rests on
    them and the keypoints at their places instead; round art27: their values first, _values_kept, which ends the
    unrelated pairs of one shape that reach this for a small part of the colour check's cost); or under
    SAME_PICTURE_UNCHANGED of a's colour blocks keep their colours there (_unchanged) or turned with the whole
    picture's hues (_hue_turns: round wm22). Without that, a logo of one layout in other colours and text would pass:
    its circle and its letters' corners lie where the other's do, and a mapping of its few colours explains the rest;
    a hue rotation is no such mapping, it turns every colour alike and keeps its saturation and value. So the
    hypothesis finds tiled watermarks, thumbnails, JPEG copies and hue rotations, not other photometric edits."""
    transform = _whole_picture(a, b)
    if transform is None:
        return None
    searched = _at_their_places(transform, a, b, found[:, 0], found[:, 1]) >= SAME_PICTURE_SUPPORT
    if not searched and _values_kept(transform, a, b) < SAME_PICTURE_ALL_UNCHANGED:
        return None  # (the colour check below would find too few blocks kept: an unrelated pair ends here, cheaply)
    if _kept_colours(transform, a, b) < (SAME_PICTURE_UNCHANGED if searched else SAME_PICTURE_ALL_UNCHANGED):
        return None
    if not searched and len(_same_picture_correspondences(a, b, transform)) < SAME_PICTURE_SUPPORT:
        return None
    return transform


def _kept_colours(transform: np.ndarray, a: ImageFingerprint, b: ImageFingerprint) -> float:
    """The share of a's colour blocks ``transform`` maps into b that keep their colours there (_unchanged) or turned
    with the whole picture's hues (_hue_turns: round wm22); 0 where it maps none."""
    colour_a, valid = _warp(_colour(a), _thumb_transform(transform, a, b, COLOUR_SIDE), COLOUR_SIDE)
    covered = _mean(_blocks(valid.astype(np.float32), COLOUR_BLOCK), 2) > 0.5
    if not covered.any():
        return 0.0
    colour_b = _colour(b)
    _, turned, all_turned = _hue_turns(colour_a, colour_b, valid)
    kept = _unchanged(colour_a, colour_b, valid) | (turned & all_turned)
    return float(_mean(kept[covered], 0))


def _mirrored(points: np.ndarray, width: int) -> np.ndarray:
    """Points (n x 2) of an image ``width`` wide at their places in its mirror image."""
    return points * [-1.0, 1.0] + [width - 1.0, 0.0]


def _mirror(width: int) -> np.ndarray:
    """The mirror of an image ``width`` wide as a 3 x 3 matrix: a transform of the mirror image, times it, is one of
    the image."""
    return np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def _homogeneous(matrix: np.ndarray) -> np.ndarray:
    return np.vstack([matrix, [0.0, 0.0, 1.0]])


def _frame(width: int, height: int) -> np.ndarray:
    return np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)


def _project(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(points.reshape(1, -1, 2).astype(np.float64), transform)[0]


def _fit_transform(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """(3x3 transform source -> target, inlier mask): a similarity found by RANSAC (or a stretch: _stretched),
    then a homography fitted to its inliers and kept when it explains at least as many correspondences
    (perspective, a screen shot at an angle)."""
    cv2.setRNGSeed(RANSAC_SEED)  # RANSAC samples from OpenCV's per-thread generator: same pair, same answer
    similarity, mask = cv2.estimateAffinePartial2D(
        source, target, method=cv2.RANSAC, ransacReprojThreshold=REPROJECTION_PX, maxIters=1000,
        confidence=0.995, refineIters=5)
    if similarity is None:
        return None, np.zeros(len(source), bool)
    transform, inliers = _homogeneous(similarity), mask.ravel().astype(bool)
    if MIN_INLIERS <= inliers.sum() < 0.5 * len(source):
        transform, inliers = _stretched(source, target, transform, inliers)
    for _ in range(2):  # refit on the grown inlier set once more
        if inliers.sum() < MIN_INLIERS:
            break
        homography, _ = cv2.findHomography(source[inliers], target[inliers], 0)
        if homography is None or abs(homography[2, 2]) < 1e-9:
            break
        homography = homography / homography[2, 2]
        if np.linalg.det(homography[:2, :2]) <= 0 or np.abs(homography[2, :2]).max() * WORK_SIDE > MAX_PERSPECTIVE:
            break  # a mirror or a wild perspective: not a view of the same plane
        refined = _norm(_project(homography, source) - target) < REPROJECTION_PX
        if refined.sum() < inliers.sum():
            break
        grown = not np.array_equal(refined, inliers)
        transform, inliers = homography, refined
        if not grown:
            break  # (the same inliers: the refit would be this fit again)
    return transform, inliers


def _stretched(source: np.ndarray, target: np.ndarray, similarity: np.ndarray,
               inliers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An affine map found by RANSAC where it explains STRETCH_GAIN times the similarity's inliers, keeps the
    picture's handedness and stretches one axis at most MAX_STRETCH times the other; else the similarity."""
    cv2.setRNGSeed(RANSAC_SEED)
    affine, mask = cv2.estimateAffine2D(
        source, target, method=cv2.RANSAC, ransacReprojThreshold=REPROJECTION_PX, maxIters=1000,
        confidence=0.995, refineIters=5)
    if affine is None or mask.sum() < STRETCH_GAIN * inliers.sum() or np.linalg.det(affine[:, :2]) <= 0:
        return similarity, inliers
    longest, shortest = np.linalg.svd(affine[:, :2], compute_uv=False)
    if longest > MAX_STRETCH * shortest:
        return similarity, inliers
    return _homogeneous(affine), mask.ravel().astype(bool)


def _may_reach_inliers(source: np.ndarray, target: np.ndarray, most: int = CONSENSUS_CHECK_MAX) -> bool:
    """Could _fit_transform's RANSAC find MIN_INLIERS inliers among these correspondences? False only when it
    cannot: OpenCV's RANSAC takes its inliers from a similarity through two of the correspondences (the refinement
    after it keeps that mask), so no more than the most any such similarity explains within REPROJECTION_PX. Up to
    ``most`` correspondences every such similarity is tried here that its scale alone does not rule out
    (_scale_may_reach), in less time than RANSAC takes to give up: unrelated look-alike pictures (smooth textures,
    one template) pass the word stage with a few dozen chance correspondences that no motion explains, and
    unrelated photos that fail the ratio test bring 50-120 mutual nearest descriptors (verify()); each set costs a
    full RANSAC run (upright, mirrored) for nothing. Arithmetic in float32 complex numbers (the points are multiples
    of 1/8 px, exact); the tolerance exceeds REPROJECTION_PX by far more than this rounding and OpenCV's (float32
    errors of the model's terms), so a borderline inlier there counts here too: a bound, never a decision."""
    count = len(source)
    if count < MIN_INLIERS:
        return False
    if count > most:
        return True  # RANSAC is the cheaper test
    extent = max(float(np.abs(source).max()), float(np.abs(target).max()), 1.0)
    z, w = _complex(source), _complex(target)
    first, second = _scale_may_reach(z, w, extent)
    if len(first) * count > CONSENSUS_RESIDUALS:
        return True  # many similarities may: RANSAC is the cheaper test (a copy's correspondences)
    if len(first) == 0:
        return False
    with np.errstate(all="ignore"):  # two keypoints at one place: OpenCV's model is NaN (no inliers), here too
        gain = (w[second] - w[first]) / (z[second] - z[first])  # z -> gain * z + shift through both
        shift = w[first] - gain * z[first]
        residual = gain[:, None] * z
        residual += shift[:, None]
        residual -= w
        tolerance = REPROJECTION_PX + 1e-4 * (np.abs(gain) * extent + np.abs(shift) + extent)
        return int((np.abs(residual) <= tolerance[:, None]).sum(axis=1).max()) >= MIN_INLIERS


def _complex(points: np.ndarray) -> np.ndarray:
    """Points (n x 2) as n complex64 numbers x + iy."""
    return np.ascontiguousarray(points, np.float32).view(np.complex64).ravel()


def _scale_may_reach(z: np.ndarray, w: np.ndarray, extent: float) -> tuple[np.ndarray, np.ndarray]:
    """The similarities through two correspondences (i < j) whose scale does not rule out MIN_INLIERS inliers.
    The one through i and j has the scale s = |w_j - w_i| / |z_j - z_i| (z in source, w in target), and k is among
    its inliers only if its residual, g (z_k - z_i) - (w_k - w_i), is within the tolerance, so (by the triangle
    inequality) only if | s |z_k - z_i| - |w_k - w_i| | is within it: that holds for s in an interval, about i and
    likewise about j. _may_reach_inliers's tolerance, REPROJECTION_PX + 1e-4 (s extent + |shift| + extent) with
    |shift| <= (1 + s) sqrt(2) extent, is under low_margin + high_margin s below (their margin covers the float32
    rounding of both). Per anchor i the intervals are counted on a histogram of s (_scale_bin, monotone: it only
    over-counts), and a similarity is kept where both its anchors' counts reach MIN_INLIERS; chance
    correspondences' scales scatter, so few are. None through two keypoints at one place (its model is NaN, no
    inliers, in _may_reach_inliers as in OpenCV). ``z``, ``w``: the source and target points (_complex)."""
    count = len(z)
    first, second = _index_pairs(count)
    slack = np.float32(3e-4 * extent)  # > 1e-4 (1 + sqrt(2)) extent
    low_margin, high_margin = np.float32(REPROJECTION_PX) + slack, slack  # tolerance <= low + high margin * s
    # Per pair: the interval of k about anchor i is that of i about anchor k (the spans are the same)
    source_span, target_span = np.abs(z[second] - z[first]), np.abs(w[second] - w[first])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        low = _scale_bin((target_span - low_margin) / (source_span + high_margin))
        # (a span within high_margin bounds no scale from above: a tiny denominator, the top bin)
        past = _scale_bin((target_span + low_margin) / np.maximum(source_span - high_margin, np.float32(1e-30))) + 1
        scale = _scale_bin(target_span / source_span)  # the similarity's through the two (inf or NaN at one place)
    # Bins by rows, anchors by columns (a row more for the interval ends past the top bin): the running sum over the
    # bins then adds whole rows, a vector at a time, where one anchor after another would be a long serial scan. An
    # odd row length (a spare column past the anchors): rows of 32, 64, 128 ... put each sum's reads and writes on the
    # same cache sets, three times slower.
    columns = count | 1
    size = (_SCALE_BINS + 1) * columns
    marks = (np.bincount(np.concatenate([low * columns + first, low * columns + second]), minlength=size)
             - np.bincount(np.concatenate([past * columns + first, past * columns + second]), minlength=size))
    others = np.cumsum(marks.reshape(-1, columns), axis=0).ravel()  # [bin * columns + anchor]: the other
    # correspondences' intervals holding the bin (each anchor's marks sum to 0); the anchor itself is among the
    # inliers of every similarity through it
    if others.max() < MIN_INLIERS - 1:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    kept = ((np.minimum(others[scale * columns + first], others[scale * columns + second]) >= MIN_INLIERS - 1)
            & (source_span > 0))
    return first[kept], second[kept]


def _index_pairs(count: int) -> tuple[np.ndarray, np.ndarray]:
    """The index pairs (i < j) of ``count`` (np.triu_indices), made once per count."""
    if count not in _PAIRS:
        _PAIRS[count] = np.triu_indices(count, 1)
    return _PAIRS[count]


def _scale_bin(scale: np.ndarray) -> np.ndarray:
    """The histogram bin of each scale (float32: >= 0 or any negative, inf, NaN), monotone: the float's bits
    (exponent and first mantissa bits, ordered as the values for non-negative floats), clipped to SCALE_RANGE."""
    return np.minimum(np.maximum((scale.view(np.int32) >> SCALE_BIN_SHIFT) - _LOWEST_SCALE_BIN, 0), _SCALE_BINS - 1)


def _overlap(transform: np.ndarray, a: ImageFingerprint, b: ImageFingerprint) -> tuple[float, float, np.ndarray]:
    """(overlap / area of b's picture, overlap / area of a's picture, a's frame in b), with a mapped into b by
    ``transform``. A picture is its working image but for caption bars above and below it (ImageFingerprint.
    caption_bars) where the other has none: a meme of a crop holds its picture whole, the bars it added beside a's
    frame or over it. (Where both have bars, they are alike: two memes, whose frames the transform puts together.)"""
    mapped = _project(transform, _frame(a.width, a.height)).astype(np.float32)
    if not cv2.isContourConvex(mapped):
        return 0.0, 0.0, mapped
    bars_a, bars_b = a.caption_bars, b.caption_bars
    if any(bars_a) and any(bars_b):
        bars_a = bars_b = (0.0, 0.0)
    top, bottom = (share * b.height for share in bars_b)
    picture_b = _clip_to_rectangle(mapped.astype(np.float64) - [0.0, top], b.width, b.height - top - bottom)
    of_b = _polygon_area(picture_b) / (b.width * (b.height - top - bottom))
    top, bottom = (share * a.height for share in bars_a)
    picture_a = _project(transform, _frame(a.width, a.height - top - bottom) + [0.0, top])
    of_a = _polygon_area(_clip_to_rectangle(picture_a, b.width, b.height)) / max(_polygon_area(picture_a), 1e-6)
    return of_b, of_a, mapped


def _clip_to_rectangle(polygon: np.ndarray, width: float, height: float) -> np.ndarray:
    """The part of a convex polygon inside [0, width] x [0, height] (Sutherland-Hodgman). OpenCV's
    intersectConvexConvex is unstable on coincident edges: a copy's frame mapped exactly onto the other's
    could come out with half its area."""
    for axis, limit, sign in ((0, 0.0, 1.0), (0, width, -1.0), (1, 0.0, 1.0), (1, height, -1.0)):
        if len(polygon) == 0:
            break
        inside = sign * (polygon[:, axis] - limit) >= 0
        clipped = []
        for i in range(len(polygon)):
            current, following = polygon[i], polygon[(i + 1) % len(polygon)]
            if inside[i]:
                clipped.append(current)
            if inside[i] != inside[(i + 1) % len(polygon)]:  # the edge crosses the line: add the crossing
                t = (limit - current[axis]) / (following[axis] - current[axis])
                clipped.append(current + t * (following - current))
        polygon = np.array(clipped).reshape(-1, 2)
    return polygon


def _polygon_area(polygon: np.ndarray) -> float:
    """Shoelace formula."""
    if len(polygon) < 3:
        return 0.0
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _second_layer(transform: np.ndarray, source: np.ndarray, target: np.ndarray, in_overlap: np.ndarray) -> np.ndarray:
    """Which correspondences are the inliers of a second similarity fitted to those inside the overlap that
    ``transform`` takes further than PARALLAX_TOLERANCE from their target (its loosest inliers too), when it moves
    points nearly as ``transform`` does: a near layer's parallax in another capture of the scene. A copy's inliers fit
    within resampling's pixel or two and its leftover correspondences are chance: they agree on no such motion."""
    layer = np.zeros(len(source), bool)
    residual = _norm(_project(transform, source) - target)
    leftover = in_overlap & (residual > PARALLAX_TOLERANCE)
    if leftover.sum() < 3:
        return layer
    cv2.setRNGSeed(RANSAC_SEED)
    similarity, mask = cv2.estimateAffinePartial2D(
        source[leftover], target[leftover], method=cv2.RANSAC, ransacReprojThreshold=PARALLAX_TOLERANCE,
        maxIters=500, confidence=0.99, refineIters=5)
    if similarity is None:
        return layer
    inliers = mask.ravel().astype(bool)
    # Where the second layer's points are, the first motion takes them close to where the second does.
    if np.median(residual[leftover][inliers]) <= MAX_PARALLAX * WORK_SIDE:
        layer[np.flatnonzero(leftover)[inliers]] = True
    return layer


def _near_layer(transform: np.ndarray, source: np.ndarray, target: np.ndarray, inliers: np.ndarray,
                layer: np.ndarray) -> bool:
    """Whether the second motion ``layer`` (_second_layer) is a near layer of another capture of the scene: as many
    points as a fit needs (MIN_INLIERS), moved by NEAR_LAYER_SHIFT or more in the median from where ``transform``
    takes them (beyond the loose tail of its own inliers), and a region of its own: in the median, NEAR_LAYER_SHARE of
    each of its points' RESIDUAL_NEIGHBOURS nearest points in a (of the first layer's ``inliers`` and its own) are
    its own. A copy's chance second layer lies scattered among the first layer's inliers, or stays within a few
    pixels of their motion (resampling's loosest correspondences); a design's repeated element moves far but alone."""
    if layer.sum() < MIN_INLIERS or np.median(_norm(_project(transform, source[layer]) - target[layer])) < \
            NEAR_LAYER_SHIFT:
        return False
    points, own = source[inliers | layer], layer[inliers | layer]
    distance = _norm(points[:, None] - points[None])
    np.fill_diagonal(distance, np.inf)
    neighbours = np.argpartition(distance, RESIDUAL_NEIGHBOURS - 1, axis=1)[own, :RESIDUAL_NEIGHBOURS]
    return bool(np.median(own[neighbours].mean(axis=1)) >= NEAR_LAYER_SHARE)


def _coherent_residual(transform: np.ndarray, source: np.ndarray, target: np.ndarray) -> float:
    """The part of the inliers' residuals under ``transform`` that their neighbours share (RMS, working pixels): each
    residual against the mean of its RESIDUAL_NEIGHBOURS nearest inliers' (in a), what that mean explains of the
    residuals' energy. A copy's residuals are independent noise, which a few neighbours' mean hardly explains; a near
    layer moving within the RANSAC tolerance in another capture of the scene shifts a whole region's points alike."""
    residual = _project(transform, source) - target
    count = min(RESIDUAL_NEIGHBOURS, len(source) - 1)
    if count < 1:
        return 0.0
    x, y = source[:, 0], source[:, 1]
    across, down = x[:, None] - x[None], y[:, None] - y[None]
    distance = np.sqrt(across * across + down * down)  # (_norm's values, from contiguous coordinate planes)
    np.fill_diagonal(distance, np.inf)
    neighbours = np.argpartition(distance, count - 1, axis=1)[:, :count]
    unexplained = residual - residual[neighbours].mean(axis=1)
    energy = np.mean(np.sum(residual ** 2, axis=1)) - np.mean(np.sum(unexplained ** 2, axis=1))
    return round(math.sqrt(max(0.0, float(energy))), 3)


def _plane_coherent_residual(transform: np.ndarray, source: np.ndarray, target: np.ndarray) -> float:
    """_coherent_residual of the inliers under ``transform``, or under the homography fitted to them where that leaves
    under PLANE_RESIDUAL: the similarity RANSAC fits a keystoned copy with (a meme's keystone, a screen shot at an
    angle) leaves the residuals of one plane seen at an angle, which neighbours share, and the refit _fit_transform
    starts from its inliers may stop short of them; one homography explains them to resampling's noise. A near layer's
    shift in another capture it explains only in part (it moves one region alone), which still counts whole."""
    residual = _coherent_residual(transform, source, target)
    if residual == 0.0 or len(source) < MIN_INLIERS:
        return residual
    homography, _ = cv2.findHomography(source, target, 0)
    if homography is None or abs(homography[2, 2]) < 1e-9:
        return residual
    plane = _coherent_residual(homography / homography[2, 2], source, target)
    return plane if plane < PLANE_RESIDUAL else residual


def _scene_goes_on(transform: np.ndarray, inverse: np.ndarray, a: ImageFingerprint, b: ImageFingerprint) -> bool:
    """Whether each picture shows the scene going on beyond the other's frame: another capture of it (a burst, another
    framing), where neither holds the other. A crop, an inset or a keystone's copy shows nothing beyond the copied
    region on one side at least (the copy ends there, or bars, a gutter, the next cell, fill or UI begin)."""
    sides_in_b = _sides_inside(transform, a, b)
    if not sides_in_b:
        return False
    sides_in_a = _sides_inside(inverse, b, a)
    return bool(sides_in_a and _goes_on_beyond(sides_in_b, inverse, a, b)
                and _goes_on_beyond(sides_in_a, transform, b, a))


def _sides_inside(transform: np.ndarray, a: ImageFingerprint, b: ImageFingerprint) -> list:
    """a's sides mapped into b (``transform``: a to b) whose window of lines (SCENE_WINDOW thumbnail pixels of b either
    side, outward last) lies inside b at SEAM_SAMPLES // 4 of its samples or more: per side the lines' working-image
    points, their places on b's thumbnail and which samples lie inside. (Most copies' have none in one direction.)"""
    corners = _project(transform, _frame(a.width, a.height))
    p, q = corners[[start for start, _ in _SIDES]], corners[[end for _, end in _SIDES]]
    normal = np.stack([q[:, 1] - p[:, 1], p[:, 0] - q[:, 0]], axis=1)
    normal /= np.maximum(np.linalg.norm(normal, axis=1), 1e-6)[:, None]
    normal *= np.where(np.sum(normal * ((p + q) / 2 - corners.mean(axis=0)), axis=1) < 0, -1.0, 1.0)[:, None]  # outward
    pixel = np.linalg.norm(normal * [b.width / LUMA_SIDE, b.height / LUMA_SIDE], axis=1)  # b's, along the normal
    along = p[:, None] + np.linspace(0.05, 0.95, SEAM_SAMPLES)[None, :, None] * (q - p)[:, None]
    offsets = np.arange(-SCENE_WINDOW, SCENE_WINDOW + 1)
    ends = along[:, None] + (offsets[[0, -1]][None] * pixel[:, None])[..., None, None] * normal[:, None, None]
    thumb = (ends * [LUMA_SIDE / b.width, LUMA_SIDE / b.height] - 0.5).astype(np.float32)
    inside = ((thumb >= 0) & (thumb <= LUMA_SIDE - 1)).all(axis=3).all(axis=1)  # both ends inside: the whole line
    sides = []
    for k in np.flatnonzero(inside.sum(axis=1) >= SEAM_SAMPLES // 4):
        points = along[k][None] + (offsets * pixel[k])[:, None, None] * normal[k]
        sides.append((points, _thumb_points(b, points)[0], inside[k]))
    return sides


def _goes_on_beyond(sides: list, inverse: np.ndarray, a: ImageFingerprint, b: ImageFingerprint) -> bool:
    """Whether, along one of a's ``sides`` inside b (_sides_inside; ``inverse``: b to a), b shows a's picture up to the
    side (SCENE_UP_TO_SIDE) and the same textured scene going on beyond it, with no seam along it (SCENE_WINDOW and
    what follows it)."""
    side_line, inner = SCENE_WINDOW, np.arange(-SCENE_WINDOW, SCENE_WINDOW + 1) < -1  # (the side's lines mix both)
    luma_a, luma_b = _luma(a), _luma(b)
    for points, thumb_b, in_b in sides:
        thumb_a, in_a = _thumb_points(a, _project(inverse, points[inner].reshape(-1, 2)).reshape(-1, SEAM_SAMPLES, 2))
        kept = in_b & in_a
        if kept.sum() < SEAM_SAMPLES // 4:
            continue
        lines_a, lines_b = _sample_thumb(luma_a, thumb_a[:, kept]), _sample_thumb(luma_b, thumb_b[:, kept])
        details_a, details_b = np.diff(lines_a, axis=1), np.diff(lines_b[inner], axis=1)
        shows_a = _mean(details_a * details_b, 1) / np.maximum(
            np.sqrt(_mean(details_a ** 2, 1) * _mean(details_b ** 2, 1)), 1.0)
        texture = [np.median(np.abs(np.diff(lines, axis=1))) for lines in (lines_b[:side_line - 2],
                                                                           lines_b[side_line + 3:])]
        steps = np.median(np.abs(lines_b[2:] - lines_b[:-2]), axis=1)  # steps[k]: across line k + 1
        at_side = np.arange(side_line - 3, side_line + 2)
        seam_beyond = steps[side_line + 2:].max() > SEAM_STEP * (steps[:side_line - 3].max() + 1.0)
        across = np.mean([_correlation(lines_b[side_line - g], lines_b[side_line + g]) for g in (1, 2, 3)])
        inside = np.mean([_correlation(lines_b[side_line - 3 * g - 1], lines_b[side_line - g - 1]) for g in (1, 2, 3)])
        if (np.median(shows_a) >= SEAM_AGREEMENT and np.median(shows_a[-SEAM_LAG:]) >= SCENE_UP_TO_SIDE
                and min(texture) >= SCENE_TEXTURE
                and steps[at_side].max() <= SEAM_STEP * (np.median(np.delete(steps, at_side)) + 1.0) and not seam_beyond
                and across >= SCENE_CONTINUITY * max(inside, 0.2)):
            return True
    return False


def _thumb_points(fingerprint: ImageFingerprint, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lines, samples, 2) working-image points on the fingerprint's luminance thumbnail, and which samples lie inside
    it on every line."""
    thumb = (points * [LUMA_SIDE / fingerprint.width, LUMA_SIDE / fingerprint.height] - 0.5).astype(np.float32)
    return thumb, ((thumb >= 0) & (thumb <= LUMA_SIDE - 1)).all(axis=2).all(axis=0)


def _sample_thumb(luma: np.ndarray, thumb: np.ndarray) -> np.ndarray:
    """The thumbnail ``luma`` at (lines, samples, 2) thumbnail points, bilinear."""
    return cv2.remap(luma, np.ascontiguousarray(thumb[..., 0]), np.ascontiguousarray(thumb[..., 1]), cv2.INTER_LINEAR)


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two luminance profiles (their product's scale floored at one level: flat ones do not
    correlate)."""
    x, y = x - _mean(x, 0), y - _mean(y, 0)
    return float(_mean(x * y, 0) / max(math.sqrt(float(_mean(x * x, 0) * _mean(y * y, 0))), 1.0))


def _occupied_cells(points: np.ndarray) -> int:
    """Cells of a 4x4 grid over the points' bounding box that hold at least one point."""
    low, high = points.min(axis=0), points.max(axis=0)
    cells = np.minimum(((points - low) / np.maximum(high - low, 1e-6) * 4).astype(int), 3)
    return len(np.unique(cells[:, 1] * 4 + cells[:, 0]))


def _thumb_transform(transform: np.ndarray, a: ImageFingerprint, b: ImageFingerprint, side: int) -> np.ndarray:
    """``transform`` (working-image pixels) expressed between side x side thumbnails of a and b. Pixel centres
    sit at whole coordinates in both (as OpenCV has them), so a mirror maps thumbnail pixels onto pixels."""
    def to_thumb(f: ImageFingerprint) -> np.ndarray:
        sx, sy = side / f.width, side / f.height
        return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])
    return to_thumb(b) @ transform @ np.linalg.inv(to_thumb(a))


def _warp(image: np.ndarray, transform: np.ndarray, side: int,
          cell: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(image warped onto a side x side grid, mask of the pixels it fully covers, and with ``cell`` only those of
    the aligned-check blocks it holds: a boolean mask of the LUMA_SIDE // LUMA_BLOCK blocks a side)."""
    warped = cv2.warpPerspective(image, transform, (side, side), flags=cv2.INTER_LINEAR)
    valid = cv2.warpPerspective(np.ones((side, side), np.float32), transform, (side, side),
                                flags=cv2.INTER_LINEAR) > 0.99
    if cell is not None:
        block = side * LUMA_BLOCK // LUMA_SIDE
        valid &= np.kron(cell, np.ones((block, block), bool))
    return warped, valid


def _blocks(image: np.ndarray, block: int) -> np.ndarray:
    """(rows, columns, pixels of a block, ...) view of an image cut into block x block squares."""
    side = image.shape[0]
    n = side // block
    return image.reshape(n, block, n, block, *image.shape[2:]).swapaxes(1, 2).reshape(n, n, block * block,
                                                                                      *image.shape[2:])


def _norm(vectors: np.ndarray) -> np.ndarray:
    """``np.linalg.norm(vectors, axis=-1)``, the same values (the squares summed left to right, as its reduction sums
    them), without its overhead and its slow reduction over a short last axis (2 or 3 coordinates)."""
    squared = vectors[..., 0] * vectors[..., 0]
    for k in range(1, vectors.shape[-1]):
        squared = squared + vectors[..., k] * vectors[..., k]
    return np.sqrt(squared)


def _mean(values: np.ndarray, axis: int) -> np.ndarray:
    """``values.mean(axis)`` without np.mean's Python overhead, which costs more than the sum itself on the small
    arrays the aligned checks average (a few dozen a verified pair). The same bits: the same sum, and a float32
    division rounds as np.mean's float64 one does once cast back."""
    return np.add.reduce(values, axis=axis) / values.shape[axis]


def _aligned_agreement(transform: np.ndarray, a: ImageFingerprint, b: ImageFingerprint,
                       cell: np.ndarray | None = None, inset: bool = False,
                       aligned: tuple | None = None) -> tuple[float, float, float, bool]:
    """Warp a's luminance and colour thumbnails onto b's with ``transform``; of the overlapping blocks,
    (the fraction that agree: correlated detail where either block has detail, equal brightness where both
    are flat; the fraction covered by an overlay (_covered_share); the fraction whose structure agrees but whose
    colour a global colour mapping does not explain: recoloured, as opposed to covered by an overlay; whether a part
    recoloured (_recoloured_region) is an element of the picture, its outline of the picture's shapes: _outline_kept).
    ``cell``: both checks keep to those blocks of b (_cell). ``inset``: b holds a's picture (judged on b's grid), so
    a recoloured region along a seam of b is the seam's (_seam_regions); else a may hold b's (judged in the frame of
    the picture shown smaller), and one along a straight seam of a is (_holder_seam_regions). (``aligned``: as for
    _block_agreement.)"""
    luminance = _luminance_blocks(transform, a, b, cell, aligned)
    if luminance is None:
        return 0.0, 0.0, 0.0, False
    agreement, covered, shapes, valid_blocks = luminance
    overlapping = valid_blocks  # (the band ring may pad valid_blocks below)
    colour_transform = _thumb_transform(transform, a, b, COLOUR_SIDE)
    colour_a, colour_valid = _warp(_colour(a), colour_transform, COLOUR_SIDE, cell)
    colour_b = _colour(b)
    structure = np.zeros(valid_blocks.shape, bool)  # where a recolour could be: the same shapes, in any colours
    structure[valid_blocks] = shapes
    weights = valid_blocks.astype(np.float32)  # each block's area (in blocks) in a recoloured region
    # The bands trimming cut, where both pictures have one on sides the transform puts together: a ring of blocks
    # around the thumbnails, each weighing its part of the band's area; a band is flat, its structure agrees. The
    # recoloured share stays one of the picture's blocks: a band's area counts only where it is recoloured.
    picture, fitted_from = valid_blocks.sum(), None
    colour_a, colour_b, colour_valid, ring = _band_ring(transform, a, b, colour_a, colour_b, colour_valid)
    if ring is not None:  # (the colour mappings fitted to the picture's pixels alone: a band is judged by them)
        fitted_from = np.pad(np.ones((COLOUR_SIDE, COLOUR_SIDE), bool), COLOUR_BLOCK)
        valid_blocks, structure = np.pad(valid_blocks, 1) | (ring > 0), np.pad(structure, 1, constant_values=True)
        weights = np.pad(weights, 1) + ring
    # Either picture may be the edited one. A direction tells a local recolour when its colour mapping explains
    # all but a part of the picture; not when it starts from a picture of one tone (grayscale, sepia: no mapping
    # gives the colours back), nor when it misses most of the picture. (Both directions at once
    # would miss a recolour of a greyish part: the mapping back from the new colour to grey may erase it alone.)
    fits = (_colour_differs(colour_a, colour_b, colour_valid, fitted_from),
            _colour_differs(colour_b, colour_a, colour_valid, fitted_from))
    if fits[0] is None:
        return agreement, covered, 0.0, False
    (forward, mapped_a), (backward, mapped_b) = fits
    # A block whose colours did not change at all is no recolour, whatever a mapping fitted to a few colours says.
    # A brightened copy's highlights stop at the top of the range: no mapping from them gives the original back, so
    # the direction starting there does not judge them (the other direction still does).
    changed = ~_unchanged(colour_a, colour_b, colour_valid, fitted_from)
    judged_from_a, judged_from_b = changed & ~_clipped(colour_a, colour_b), changed & ~_clipped(colour_b, colour_a)
    forward, backward = forward & judged_from_a, backward & judged_from_b
    local = [differs for differs, start in ((forward, colour_a), (backward, colour_b))
             if not _monochrome(_rows(start, colour_valid)) and _mean(differs[valid_blocks], 0) <= MAX_LOCAL_RECOLOUR]
    hue_moved, hue_turned, hues_turned = _hue_turns(colour_a, colour_b, colour_valid, fitted_from)
    if hues_turned:  # the luminance of a hue rotation's copy judged by what the rotation keeps (_value_agreement)
        value = _value_agreement(colour_a, colour_b, colour_valid, valid_blocks)
        if value > agreement / (1.0 - covered):
            agreement, covered = value, 0.0
    colour_differs = (np.logical_or.reduce(local) if local else forward & backward) | hue_moved
    # The luminance too, either way, under the same colour mapping: recolouring part of a nearly colourless picture
    # moves its brightness there (a grayscale copy keeps the luminance, so the direction from one tone that the
    # colour check skips still tells).
    for mapped, end, judged in ((mapped_a, colour_b, judged_from_a), (mapped_b, colour_a, judged_from_b)):
        moved = _luminance_moved(mapped, end, colour_valid) & judged
        if _mean(moved[valid_blocks], 0) <= MAX_LOCAL_RECOLOUR:
            colour_differs |= moved
    # One tone curve, or one gain of the chroma, explaining every block, either way, is a brightness, contrast, gamma
    # or saturation edit, whatever the mappings above miss (_global_edit).
    if colour_differs.any() and _global_edit(colour_a, colour_b, colour_valid, fitted_from, valid_blocks):
        colour_differs = hue_moved
    colour_differs &= ~hue_turned
    recoloured = (valid_blocks & structure & colour_differs).astype(np.uint8)
    # One recoloured part is one connected region; a copy's stray blocks (edges, compression) are scattered.
    count, labels = cv2.connectedComponents(recoloured, connectivity=4)
    areas = np.bincount(labels.ravel(), weights.ravel(), minlength=count)[1:]
    seam = np.zeros(labels.shape, bool)  # (blocks of regions along a seam: not judged as a part recoloured either)
    if count > 1:
        along_seam = (_seam_regions(labels, count, overlapping, transform, a, b) if inset
                      else _holder_seam_regions(labels, count, overlapping, transform, a, b))
        if inset and abs(np.linalg.det(colour_transform[:2, :2])) > 1.0:
            # a's pixels larger than b's on b's grid: a collage judged as a, may hold b's picture (round collage25)
            along_seam |= _holder_seam_regions(labels, count, overlapping, transform, a, b)
        areas[along_seam] = 0.0
        seam = np.isin(labels, 1 + np.flatnonzero(along_seam))
    # A part recoloured, judged by its shape and in absolute units of hue (_recoloured_part): the share of the
    # picture's own pixels (not those of a white ground) it covers, where that is more.
    part, region = _recoloured_region(colour_a, colour_b, colour_valid, fitted_from, valid_blocks,
                                      ~hue_turned & ~seam, structure)
    if part and _toning(colour_a, colour_b, colour_valid, fitted_from, valid_blocks):
        part, region = 0.0, None  # a toning of the other: a picture of one tone, its hues tell nothing (_monochrome)
    return (agreement, covered, min(1.0, max(float(areas.max(initial=0) / picture), part)),
            _outline_kept(region, valid_blocks, structure)
            or _palette_recoloured(colour_a, colour_b, colour_valid, fitted_from, valid_blocks & structure))


def _recoloured_part(colour_a: np.ndarray, colour_b: np.ndarray, valid: np.ndarray, fitted_from: np.ndarray | None,
                     valid_blocks: np.ndarray, candidates: np.ndarray, shapes: np.ndarray | None = None) -> float:
    """_recoloured_region's share alone."""
    return _recoloured_region(colour_a, colour_b, valid, fitted_from, valid_blocks, candidates, shapes)[0]


def _recoloured_region(colour_a: np.ndarray, colour_b: np.ndarray, valid: np.ndarray, fitted_from: np.ndarray | None,
                       valid_blocks: np.ndarray, candidates: np.ndarray,
                       shapes: np.ndarray | None = None) -> tuple[float, np.ndarray | None]:
    """(The share of the picture's pixels (those of the ``valid_blocks`` inside ``fitted_from``, but white in both)
    that one part recoloured covers, or 0; its pixels on the colour thumbnail where the maps fitted to the rest
    explain most of them in neither direction, or None.) A global edit (a filter, grading, grayscale, sepia, a hue
    rotation, brightness, contrast or gamma, clipped) moves every colour by one mapping; a part recoloured (the same
    product in another colour) is one region whose hue moved while the colours around it kept theirs, and which a
    mapping fitted to the rest of the picture, without it, does not explain. Judged in CIELAB's a*b* plane with the
    chroma capped (_hue_plane), so a white ground widens nothing (the colour check's tolerance is in units of the
    overlap's colour spread, which a white ground raises) and a change of saturation or brightness alone moves nothing.

    The part: the largest region (_largest_part) of pixels of the ``candidates`` blocks (not turned with the whole
    picture's hues: _hue_turns, nor along a seam) with the same ``shapes`` in both pictures (all of them if None),
    white in neither, whose hue moved by more than
    RECOLOUR_SHIFT (_hue_plane; _shifted_residual) without any mapping, grown by its fringe (moved by more than
    RECOLOUR_FRINGE, connected to it: a soft edge, pixels partly recoloured). Not judged where either picture is of
    one tone (nothing to turn from or to), nor where fewer than MIN_KEPT_COLOUR pixels of colour outside it kept
    their hue (every colour may have turned: a hue rotation of a picture of one colour on white). Then in each
    direction an affine map of the colours and a tone curve (_affine_map, _tone_curve: the latter follows
    brightness, contrast and gamma where they clip, which turns a clipped sky's hue) are fitted to the pixels
    outside it, and the one leaving fewer of its pixels moved kept: where the part's pixels still moved under it, in
    either direction, and the map explains the rest of the picture (no more pixels moved outside the part than
    inside), the region they form is the recoloured part. It counts whole, its pixels in blocks of other shapes too,
    where most of it lies in blocks of the same shapes (round neg22): a recolour keeps the picture's shapes but where
    its new colours' luminance makes an edge along its outline across them (a part turned from orange to blue darkens)
    or turns a texture's contrasts (a night sky lifted to a visible colour), and those blocks held a third of a photo's
    part (the quality bench's bridge at night: 0.094 of the picture counted, 0.141 whole); an overlay's new content
    keeps the shapes mostly where it lies on plain ground, and where not, only those pixels count, as before."""
    none = 0.0, None
    white_a, white_b = ((colour >= CLIPPED_LEVEL).all(axis=2) for colour in (colour_a, colour_b))
    block = np.ones((COLOUR_BLOCK, COLOUR_BLOCK), bool)
    # (Not a band ring's pixels, outside ``fitted_from``: a border padded in another colour is no part recoloured.)
    picture = valid if fitted_from is None else valid & fitted_from
    pixels = picture & np.kron(valid_blocks, block)
    eligible = pixels & ~(white_a | white_b) & np.kron(valid_blocks & candidates, block)
    judged = eligible if shapes is None else eligible & np.kron(shapes, block)
    plane_a, plane_b = _hue_plane(colour_a / 255.0), _hue_plane(colour_b / 255.0)
    moved = _shifted_residual(_rows(plane_a, valid), plane_b, valid)
    part = _largest_part((moved > RECOLOUR_SHIFT) & judged)
    if (np.count_nonzero(part) < MIN_RECOLOURED_PIXELS or _monochrome(_rows(colour_a, valid))
            or _monochrome(_rows(colour_b, valid))):
        return none
    _, labels = cv2.connectedComponents((part | ((moved > RECOLOUR_FRINGE) & pixels)).astype(np.uint8),
                                        connectivity=8)
    part = np.isin(labels, np.unique(labels[part]))
    rest = picture & ~cv2.dilate(part.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    coloured = ((plane_a[..., :2] ** 2).sum(axis=2) >= (RECOLOUR_CHROMA / 2) ** 2) \
        & ((plane_b[..., :2] ** 2).sum(axis=2) >= (RECOLOUR_CHROMA / 2) ** 2)
    if np.count_nonzero(rest & coloured & (moved <= RECOLOUR_SHIFT)) < MIN_KEPT_COLOUR:
        return none
    recoloured, moved_elsewhere, either_way = np.zeros(part.shape, bool), 0, part & eligible
    for start, end, end_plane in ((colour_a, colour_b, plane_b), (colour_b, colour_a, plane_a)):
        colours = _rows(start, valid)
        x, target, top = colours / 255.0, _rows(end, valid) / 255.0, colours >= CLIPPED_LEVEL
        still = None
        for fit in (_affine_map, _tone_curve):
            if still is not None and not (still & part).any():
                break  # (the affine map explains the whole part: no map explains more)
            mapped = np.clip(fit(_rows(start, rest) / 255.0, _rows(end, rest) / 255.0)(x), 0.0, 1.0)
            # (a channel at the top of the range in the picture mapped from is a lower bound: _colour_differs)
            mapped = _hue_plane(np.where(top, np.maximum(mapped, target), mapped))
            shifted = _shifted_residual(mapped, end_plane, valid) > RECOLOUR_SHIFT
            if still is None or np.count_nonzero(shifted & part) < np.count_nonzero(still & part):
                still = shifted
        recoloured |= still & part & eligible
        either_way &= still
        moved_elsewhere = max(moved_elsewhere, np.count_nonzero(still & judged & ~part))
    region = _largest_part(recoloured & judged)
    area = np.count_nonzero(region)
    if area < MIN_RECOLOURED_PIXELS or moved_elsewhere > area:
        return none
    if 2 * np.count_nonzero(recoloured & judged) >= np.count_nonzero(recoloured):  # (mostly of the same shapes)
        whole = _largest_part(recoloured)
        region = whole if np.count_nonzero(whole) > area else region
    # (Judged as an element, _outline_kept, where neither direction's map explains most of it. A brightened copy
    # washes an element out to a clipped white, whose channels, lower bounds, the map back from it explains.)
    element = 2 * np.count_nonzero(region & either_way) >= np.count_nonzero(region)
    return np.count_nonzero(region) / max(np.count_nonzero(pixels & ~(white_a & white_b)), 1), \
        region if element else None


def _outline_kept(region: np.ndarray | None, valid_blocks: np.ndarray, shapes: np.ndarray) -> bool:
    """Whether a part recoloured (``region``, pixels of the colour thumbnail: _recoloured_region) is an element of the
    picture in another colour: its outline (the pixels within one of its edge) crosses MIN_OUTLINE_BLOCKS of the
    ``valid_blocks`` or more, and every one of them has the same ``shapes`` in both pictures (_same_shapes). A
    recolour changes no shape, its outline included (a design's element keeps its edges, a part of a photo its
    texture); a sticker, an overlay or a caption adds its own edges around it, where only the copy has detail."""
    if region is None:
        return False
    kernel = np.ones((3, 3), np.uint8)
    outline = cv2.dilate(region.astype(np.uint8), kernel) > cv2.erode(region.astype(np.uint8), kernel)
    n = len(valid_blocks)
    crossed = outline.reshape(n, COLOUR_BLOCK, n, COLOUR_BLOCK).any(axis=(1, 3)) & valid_blocks
    return bool(crossed.sum() >= MIN_OUTLINE_BLOCKS and shapes[crossed].all())


def _palette_recoloured(colour_a: np.ndarray, colour_b: np.ndarray, valid: np.ndarray,
                        fitted_from: np.ndarray | None, same_shapes: np.ndarray) -> bool:
    """Has a design one or more of its palette entries in other colours while the rest kept theirs under one global
    edit (an element recoloured, or the design's template in another palette), where no global edit explains every
    entry? Judged in full CIELAB on the pixels of a's flat areas (_inside_flat) in the blocks of the same shapes in
    both pictures (``same_shapes``), each entry (_palette's codes) by the median of its pixels in either picture.
    Two saturated entries of MIN_ENTRY_SHARE or more, each now of one colour (MAX_NEW_SPREAD), whose hues turned
    apart tell it in any picture (_hues_turned_apart: a gradient wallpaper's element too). In a flat design
    (_few_colours) also: _global_edit's maps and a gain and offset per channel (_palette_lines: a colour grading;
    _tint: a toning), fitted to the entries' medians either way, are the global edits: one that leaves no entry wholly
    moved (WHOLLY_MOVED of its pixels beyond PALETTE_SHIFT) explains the pair. Else one that leaves whole entries moved
    (MIN_ENTRY_SHARE of the pixels or more), each now of one colour (MAX_NEW_SPREAD), the others kept
    (MIN_KEPT_ENTRIES) and few pixels moved outside them (MAX_SPILL: an overlay's spill) tells a recolour. The capped
    hue plane of _recoloured_region is built not to see a saturated colour moved along its hue or lightness (lime to
    spring green), and the colour check's affine map takes a few-colour palette to any other. Not judged where either
    picture is of one tone (grayscale, sepia)."""
    picture = (valid if fitted_from is None else valid & fitted_from) & _inside_flat(colour_a) \
        & np.kron(same_shapes, np.ones((COLOUR_BLOCK, COLOUR_BLOCK), bool))
    x, target = _rows(colour_a, picture), _rows(colour_b, picture)
    if len(x) < 4 * MIN_RECOLOURED_PIXELS or _monochrome(x) or _monochrome(target):
        return False
    few = _few_colours(x)
    _, entry, counts = np.unique(_colour_codes(x), return_inverse=True, return_counts=True)
    # (a smaller entry: an edge's blend, noise; outside a flat design only the large ones are judged)
    entry, large = entry.ravel(), counts >= MIN_ENTRY_SHARE * len(x)
    major = (counts >= MIN_RECOLOURED_PIXELS) & (large | few)
    if major.sum() < 2:
        return False
    medians_x, medians_target = (np.stack([np.median(v[entry == e], axis=0) for e in np.flatnonzero(major)]) / 255.0
                                 for v in (x, target))
    lab_x, lab_target = (cv2.cvtColor((v / 255.0).astype(np.float32)[None], cv2.COLOR_RGB2Lab)[0]
                         for v in (x, target))
    spread = np.zeros(len(counts))
    for e in np.flatnonzero(major):
        spread[e] = np.sqrt(_mean(((lab_target[entry == e] - np.median(lab_target[entry == e], axis=0)) ** 2)
                                  .sum(axis=1), 0))
    judged = (large & (spread <= MAX_NEW_SPREAD))[major]
    if _hues_turned_apart(medians_x[judged], medians_target[judged]):
        return True
    if not few:
        return False
    recoloured = False
    for start, end, lab_end, medians_start, medians_end in ((x, target, lab_target, medians_x, medians_target),
                                                           (target, x, lab_x, medians_target, medians_x)):
        top = start >= CLIPPED_LEVEL
        for whole_map in (_tone_curve, _chroma_gain, _hue_turn, _entry_hue_turn, _channel_curves, _grading, _tint):
            fitted = whole_map(medians_start, medians_end)
            if fitted is None:
                continue
            mapped = np.clip(fitted(start / 255.0), 0.0, 1.0)
            # (a channel at the top of the range in the picture mapped from is a lower bound: _colour_differs)
            mapped = np.where(top, np.maximum(mapped, end / 255.0), mapped).astype(np.float32)
            moved = _norm(cv2.cvtColor(mapped[None], cv2.COLOR_RGB2Lab)[0] - lab_end) > PALETTE_SHIFT
            wholly = major & (np.bincount(entry, moved, len(counts)) >= WHOLLY_MOVED * counts)
            if not wholly.any():
                return False  # one global edit explains every entry
            in_wholly = wholly[entry]
            recoloured |= bool(counts[wholly].sum() >= MIN_ENTRY_SHARE * len(x)
                               and counts[~wholly].sum() >= MIN_KEPT_ENTRIES * len(x)
                               and (spread[wholly] <= MAX_NEW_SPREAD).all()
                               and np.count_nonzero(moved & ~in_wholly) <= MAX_SPILL * np.count_nonzero(in_wholly))
    return recoloured


def _hues_turned_apart(x: np.ndarray, target: np.ndarray) -> bool:
    """Did two saturated colours (``x``'s and ``target``'s rows, 0-1, of CIELAB chroma SATURATED_CHROMA or more in
    both) turn their HSV hues unlike each other, MAX_HUE_DEVIATION apart or more? A global edit turns every hue alike
    (a hue rotation), a saturated colour's little (a grading, a tone curve, posterize) or takes the hues away
    (grayscale, sepia: not judged); an element recoloured turns its own hue while the others keep theirs (lime to
    spring green: 50 degrees), a template in another palette turns each colour its own way. A pale colour's hue is no
    witness: a colour balance turns it far (a cool grading turned a pink 40 degrees one way, a pale cyan 20 the other).
    """
    if len(x) < 2:
        return False
    lab_x, lab_target = (cv2.cvtColor(v[None].astype(np.float32), cv2.COLOR_RGB2Lab)[0] for v in (x, target))
    saturated = (np.hypot(lab_x[:, 1], lab_x[:, 2]) >= SATURATED_CHROMA) \
        & (np.hypot(lab_target[:, 1], lab_target[:, 2]) >= SATURATED_CHROMA)
    if saturated.sum() < 2:
        return False
    hue_x, hue_target = (cv2.cvtColor(v[None].astype(np.float32), cv2.COLOR_RGB2HSV)[0, saturated, 0]
                         for v in (x, target))
    turns = np.exp(1j * np.radians(hue_target - hue_x))
    return bool(np.degrees(np.abs(np.angle(turns[:, None] / turns[None, :]))).max() >= MAX_HUE_DEVIATION)


def _hue_plane(colours: np.ndarray) -> np.ndarray:
    """Colours (..., 3; 0-1) as points of CIELAB's a*b* plane with their chroma capped at RECOLOUR_CHROMA (and a third
    coordinate 0, for _shifted_residual): two saturated colours lie as far apart as their hues, a grey and a colour as
    far as the colour's chroma up to the cap, and a change of saturation among saturated colours moves nothing."""
    ab = cv2.cvtColor(np.clip(colours.reshape(1, -1, 3), 0.0, 1.0).astype(np.float32), cv2.COLOR_RGB2Lab)[0, :, 1:]
    chroma = np.sqrt((ab ** 2).sum(axis=1, keepdims=True))
    capped = ab * np.minimum(1.0, RECOLOUR_CHROMA / np.maximum(chroma, 1e-6))
    return np.hstack([capped, np.zeros((len(ab), 1), np.float32)]).reshape(colours.shape)


def _largest_part(mask: np.ndarray) -> np.ndarray:
    """The largest region of ``mask``'s pixels, patches a pixel apart taken as one (a recoloured part's texture
    leaves some of its pixels near their old colour)."""
    count, labels = cv2.connectedComponents(cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)),
                                            connectivity=8)
    labels = np.where(mask, labels, 0)
    if count < 2 or not mask.any():
        return np.zeros(mask.shape, bool)
    return labels == 1 + int(np.argmax(np.bincount(labels.ravel(), minlength=count)[1:]))


def _seam_regions(labels: np.ndarray, count: int, judged: np.ndarray, transform: np.ndarray, a: ImageFingerprint,
                  b: ImageFingerprint) -> np.ndarray:
    """Per region of recoloured blocks (``labels`` 1 .. count - 1 on b's aligned-check grid, with a band ring's
    blocks around it where larger than ``judged``, the blocks the checks judged): whether it lies one block deep along
    a side of the judged blocks beyond which b shows another picture. A picture inside another (a collage cell, a
    meme's picture) meets the next one there, often across a gutter, and b's colour thumbnail pixels along the seam
    mix both: a colour no mapping of a's explains, in a line of blocks along the seam, which is no recolour. b shows
    another picture beyond a side where a's frame ends inside the blocks beyond it (a cover-cropped cell's frame
    reaches past the cell, into the gutter and the next picture) and, over the part of them a covers, a's luminance
    does not agree with b's: at a burst's or a crop's edge b's picture goes on as a's. Not beyond a cell's seam
    (_cell), whole blocks of a's frame: a recolour reaching the seam looks like another picture there too. (A recolour
    of a part inside the picture, or one reaching into it, still counts.)"""
    n = len(judged)
    seam = np.zeros(count - 1, bool)
    levels = None
    for label, rows, columns in _regions_inside(labels, count, n):
        for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            beyond_rows, beyond_columns = rows + dy, columns + dx
            if (np.ptp(columns if dx else rows) > 0 or beyond_rows.min() < 0 or beyond_columns.min() < 0
                    or max(beyond_rows.max(), beyond_columns.max()) >= n or judged[beyond_rows, beyond_columns].any()):
                continue  # not one line of blocks along that side, or that side is the grid's edge or judged
            line = np.zeros((n, n), bool)  # the judged blocks of the region's column or row
            if dx:
                line[:, columns[0]] = judged[:, columns[0]]
            else:
                line[rows[0]] = judged[rows[0]]
            if levels is None:  # a's luminance over all of a's frame in b, levels matched on the judged blocks
                luma_a, luma_b = _luma(a), _luma(b)
                warped, covered = _warp(luma_a, _thumb_transform(transform, a, b, LUMA_SIDE), LUMA_SIDE)
                pixels = np.ones((LUMA_BLOCK, LUMA_BLOCK), bool)
                levels = (*_matched_levels(warped, luma_b, covered & np.kron(judged, pixels)), covered, pixels,
                          _blocks(covered, LUMA_BLOCK).all(axis=2))
            z_a, z_b, covered, pixels, whole = levels
            beyond = np.roll(line, (dy, dx), axis=(0, 1)) & ~judged & ~whole  # blocks a's frame ends in
            strip = np.kron(beyond, pixels) & covered
            if strip.sum() >= LUMA_BLOCK and not _blocks_agree(z_a[strip][None], z_b[strip][None])[0][0]:
                seam[label - 1] = True
                break
    return seam


def _regions_inside(labels: np.ndarray, count: int, n: int):
    """(label, rows, columns) of each region of ``labels`` (1 .. count - 1, on an n x n grid with a band ring's blocks
    around it where larger) lying wholly inside the grid: one partly in the band ring is a band's colour."""
    ring = (len(labels) - n) // 2
    sizes = np.bincount(labels.ravel(), minlength=count)
    inner = labels[ring:ring + n, ring:ring + n]
    for label in range(1, count):
        rows, columns = np.nonzero(inner == label)
        if len(rows) == sizes[label]:
            yield label, rows, columns


def _holder_seam_regions(labels: np.ndarray, count: int, judged: np.ndarray, transform: np.ndarray,
                         holder: ImageFingerprint, picture: ImageFingerprint) -> np.ndarray:
    """Per region of recoloured blocks (``labels`` 1 .. count - 1 on ``picture``'s aligned-check grid, with a band
    ring's blocks around it where larger than ``judged``, the blocks the checks judged): whether it lies one block deep
    along a seam of ``holder``, judged in the frame of the ``picture`` it may hold shown larger (``transform``: holder
    to picture): a collage cell or a meme's picture, cover-cropped. The gutter and the next cell, or a caption bar,
    reach into the picture's frame there, and the holder's colour thumbnail pixels along the seam mix both sides: a
    colour no mapping explains, in a line of blocks, which is no recolour. A seam: the region is one line of blocks
    along a side of the judged blocks (the grid's edge, or no block judged beyond), and along one of its two long
    sides the holder's luminance steps across one straight line while the picture's goes on (_straight_step). A
    recolour's edge is an edge of something in both pictures (both step there), or follows its shape (no step along a
    whole line); at a burst's edge the holder's picture goes on too. (On b's grid, _seam_regions.)"""
    seam = np.zeros(count - 1, bool)
    thumbs = None
    for label, rows, columns in _regions_inside(labels, count, len(judged)):
        for transposed, across, along in ((False, columns, rows), (True, rows, columns)):
            if np.ptp(across) > 0 or all(_judged(judged, transposed, along, across + outward).any()
                                         for outward in (-1, 1)):
                continue  # not one line of blocks along a side of the judged blocks
            if thumbs is None:  # the holder's luminance warped onto the picture's thumbnail, the picture's own
                luma_holder, luma_picture = _luma(holder), _luma(picture)
                warped, covered = _warp(luma_holder, _thumb_transform(transform, holder, picture, LUMA_SIDE),
                                        LUMA_SIDE)
                thumbs = warped, luma_picture, covered
            images = [image.T if transposed else image for image in thumbs]
            if any(_straight_step(*images, side * LUMA_BLOCK) for side in (across[0], across[0] + 1)):
                seam[label - 1] = True
                break
    return seam


def _judged(judged: np.ndarray, transposed: bool, along: np.ndarray, across: np.ndarray) -> np.ndarray:
    """Whether each block (``along``, ``across``: its row and column, or with ``transposed`` its column and row) is
    among the ``judged`` blocks; False off the grid."""
    inside = (across >= 0) & (across < len(judged))
    rows, columns = (across, along) if transposed else (along, across)
    return inside & judged[np.where(inside, rows, 0), np.where(inside, columns, 0)]


def _straight_step(holder: np.ndarray, picture: np.ndarray, covered: np.ndarray, line: int) -> bool:
    """Whether, within half a block of the thumbnail column boundary ``line``, the ``holder``'s luminance (warped onto
    the ``picture``'s thumbnail, ``covered`` where it is) steps across one straight column while the picture's goes
    on across it. A column's step: the median, over the rows both cover within 1.5 blocks of the line, of the absolute
    difference of the columns beside it (a seam falls between pixels and mixes the column on it). The holder's
    largest step in the window lies there and is over HOLDER_SEAM_STEP times its median step plus one level; the
    picture's steps within half a block of it stay under SEAM_STEP times its median plus one (as _seam_kind judges a
    picture's own step; half a block: another capture's edge moved by its parallax is the same edge)."""
    reach = 3 * LUMA_BLOCK // 2
    window = np.arange(max(1, line - reach), min(LUMA_SIDE - 1, line + reach))
    rows = covered[:, window[0] - 1:window[-1] + 2].all(axis=1)
    if rows.sum() < LUMA_BLOCK:
        return False
    holder_steps, picture_steps = (np.median(np.abs(image[rows][:, window + 1] - image[rows][:, window - 1]), axis=0)
                                   for image in (holder, picture))
    at = int(np.argmax(holder_steps))
    if (abs(window[at] + 0.5 - line) > LUMA_BLOCK / 2
            or holder_steps[at] <= HOLDER_SEAM_STEP * (np.median(holder_steps) + 1.0)):
        return False
    near = np.abs(window - window[at]) <= LUMA_BLOCK // 2
    return bool(picture_steps[near].max() <= SEAM_STEP * (np.median(picture_steps) + 1.0))


def _luminance_agreement(transform: np.ndarray, a: ImageFingerprint, b: ImageFingerprint,
                         aligned: tuple | None = None) -> tuple[float, float]:
    """_aligned_agreement's luminance half alone, on b's grid: (the fraction of the overlapping blocks that agree, the
    fraction covered). Where b shows a's picture larger, the checks are judged in a's frame, and whatever b holds
    around a crop of it (caption bars, a keystone's black fill, a border) lands inside a's frame as a band along its
    edges, filling whole blocks there; on b's grid the same band lies in the blocks a's frame only partly covers,
    which are not judged. The better of the two frames is weighed; the colour check stays in a's. (``aligned``: as
    for _block_agreement.)"""
    luminance = _luminance_blocks(transform, a, b, aligned=aligned)
    return (0.0, 0.0) if luminance is None else luminance[:2]


def _luminance_blocks(transform: np.ndarray, a: ImageFingerprint, b: ImageFingerprint, cell: np.ndarray | None = None,
                      aligned: tuple | None = None):
    """The aligned luminance blocks (_block_agreement): (the fraction of the overlapping blocks that agree, the fraction
    covered (_covered_share), per overlapping block whether it has the same shapes in any contrast, the mask of the
    overlapping blocks), or None where fewer than 4 blocks overlap. (``aligned``: as for _block_agreement.)"""
    agree, _, shapes, valid_blocks, moved, _ = _block_agreement(transform, a, b, cell, moved=True, aligned=aligned)
    if valid_blocks.sum() < 4:
        return None
    return float(agree.mean()), _covered_share(agree, moved), shapes, valid_blocks


def _same_shapes(correlation: np.ndarray, detailed: np.ndarray) -> np.ndarray:
    """Per overlapping block: the same shapes in both pictures, whatever their colours? Flat blocks, and detailed ones
    whose luminance details correlate either way (beyond BLOCK_CORRELATION). A recolour keeps the edges of the part
    it recolours but may turn their contrast round (a grey emblem on white turned dark blue, a pale ground turned
    dark): they then anticorrelate, where an overlay's new edges do not correlate at all."""
    return np.where(detailed, np.abs(correlation) > BLOCK_CORRELATION, True)


_SIDES = ((0, 3), (0, 1), (1, 2), (3, 2))  # left, top, right, bottom side: its ends among _frame()'s corners


def _band_ring(transform: np.ndarray, a: ImageFingerprint, b: ImageFingerprint, colour_a: np.ndarray,
               colour_b: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The colour thumbnails (a's warped onto b's by ``transform``, and its valid mask) with a ring of one
    COLOUR_BLOCK around them, which holds each band trimming cut from b (band_colours) where a has one too on the side
    the transform takes onto that side of b (both its ends within BAND_ALIGNMENT of b's size of that side's ends):
    there each picture's band colour; and the ring's weights, per block, in blocks of the thumbnail: the band's area
    (the thinner of the two, beside the picture that trimming kept) shared out over the side's blocks. (Unchanged,
    and None, when no side has a band in both.) A recolour of a band, a design's top bar or ground, is then judged
    as any block is, and one with the recoloured blocks along its side. The thinner band: a padded copy's band is its
    padding and the original's band."""
    if not a.bands or not b.bands:
        return colour_a, colour_b, valid, None
    n, block = COLOUR_SIDE // COLOUR_BLOCK, COLOUR_BLOCK
    corners_a, corners_b = _project(transform, _frame(a.width, a.height)), _frame(b.width, b.height)
    tolerance = BAND_ALIGNMENT * max(b.width, b.height)
    bands_a, bands_b = (np.frombuffer(f.bands, np.uint8).reshape(4, 3) for f in (a, b))
    shares_a, shares_b = _band_shares(a.frame), _band_shares(b.frame)
    ring = np.zeros((n + 2, n + 2), np.float32)
    ring_a = np.pad(colour_a, ((block, block), (block, block), (0, 0)))
    ring_b = cv2.copyMakeBorder(colour_b, block, block, block, block, cv2.BORDER_REFLECT_101)  # as cv2.blur's edge
    ring_valid = np.pad(valid, block)
    inner, low, high = slice(1, n + 1), slice(0, 1), slice(n + 1, n + 2)
    for side_b, ends_b in enumerate(_SIDES):
        for side_a, ends_a in enumerate(_SIDES):
            ends = corners_a[list(ends_a)]
            if not (shares_a[side_a] and shares_b[side_b]) or min(
                    np.linalg.norm(ends - corners_b[list(order)], axis=1).max()
                    for order in (ends_b, ends_b[::-1])) > tolerance:
                continue
            rows, columns = ((inner, low), (low, inner), (inner, high), (high, inner))[side_b]
            ring[rows, columns] = n * min(shares_a[side_a], shares_b[side_b])
            pixels = tuple(slice(s.start * block, s.stop * block) for s in (rows, columns))
            ring_a[pixels], ring_b[pixels], ring_valid[pixels] = bands_a[side_a], bands_b[side_b], True
            break
    if not ring.any():
        return colour_a, colour_b, valid, None
    return ring_a, ring_b, ring_valid, ring


def _band_shares(frame: tuple) -> tuple[float, float, float, float]:
    """The band trimming cut beyond each side (left, top, right, bottom) of ``frame``: its width against the kept
    picture's along the same axis (0: nothing cut)."""
    left, top, right, bottom = frame
    return left / (right - left), top / (bottom - top), (1 - right) / (right - left), (1 - bottom) / (bottom - top)


def _aligned_blocks(transform: np.ndarray, a: ImageFingerprint, b: ImageFingerprint,
                    cell: np.ndarray | None = None) -> tuple:
    """a's luminance thumbnail warped onto b's with ``transform`` (within ``cell`` if given: _warp), levels matched
    (_matched_levels), in aligned-check blocks: (the mask of the overlapping blocks on b's block grid; None where
    fewer than 4 overlap, else a's warped levels, the mask of its pixels, a's and b's pixels of the overlapping
    blocks and _blocks_agree of them), read-only. _best_fit judges one transform's blocks in up to three checks
    (_cell, _aligned_agreement, _luminance_agreement) and computes these once for them."""
    luma_b = _luma(b)
    warped, valid = _warp(_luma(a), _thumb_transform(transform, a, b, LUMA_SIDE), LUMA_SIDE, cell)
    valid_blocks = _read_only(_blocks(valid, LUMA_BLOCK).all(axis=2))
    if valid_blocks.sum() < 4:
        return valid_blocks, None
    z_a, z_b = _matched_levels(warped, luma_b, valid)
    blocks_b = _blocks(z_b, LUMA_BLOCK)[valid_blocks]
    blocks_a = _blocks(z_a, LUMA_BLOCK)[valid_blocks]
    return valid_blocks, tuple(_read_only(array) for array in (z_a, valid, blocks_a, blocks_b,
                                                                *_blocks_agree(blocks_a, blocks_b)))


def _block_agreement(transform: np.ndarray, a: ImageFingerprint, b: ImageFingerprint,
                     cell: np.ndarray | None = None, moved: bool = False,
                     aligned: tuple | None = None) -> tuple[np.ndarray, ...]:
    """a's luminance thumbnail warped onto b's with ``transform``: (per overlapping block, whether it agrees, whether
    its structure agrees, whether it has the same shapes in any contrast (_same_shapes); the mask of the overlapping
    blocks on b's block grid; with ``moved``, per overlapping block, whether it disagrees in place but agrees with a's
    picture a few pixels away (_moved_blocks), else None; per overlapping block, whether either picture has detail
    there), within ``cell`` if given (_warp). With ``moved`` too, a block a thin overlay crosses agrees where it is
    not covered (_overlaid_blocks). ``aligned``: _aligned_blocks of the same transform, pictures and cell, where
    computed already."""
    valid_blocks, blocks = _aligned_blocks(transform, a, b, cell) if aligned is None else aligned
    if blocks is None:
        none = np.zeros(0, bool)
        return none, none, none, valid_blocks, none if moved else None, none
    z_a, valid, blocks_a, blocks_b, agree, same_structure, correlation, detailed = blocks
    # (Not between flat designs: their parts are flat shapes of one colour each, which is what an overlay looks like
    # where two logos of one series differ.)
    if moved and not (a.few_colours or b.few_colours):
        agree = agree | _overlaid_blocks(blocks_a, blocks_b, ~agree)
    shifted = _moved_blocks(z_a, valid, valid_blocks, blocks_b, ~agree) if moved else None
    return agree, same_structure, _same_shapes(correlation, detailed), valid_blocks, shifted, detailed


def _blocks_agree(z_a: np.ndarray, z_b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per pair of blocks (pixels along the last axis, levels matched: _matched_levels): (whether they agree, whether
    their structure agrees, the correlation of their details, whether either has detail)."""
    mean_a, mean_b = _mean(z_a, -1), _mean(z_b, -1)
    detail_a, detail_b = z_a - mean_a[..., None], z_b - mean_b[..., None]
    spread_a, spread_b = np.sqrt(_mean(detail_a ** 2, -1)), np.sqrt(_mean(detail_b ** 2, -1))
    correlation = _mean(detail_a * detail_b, -1) / np.maximum(spread_a * spread_b, 1e-6)
    detailed = np.maximum(spread_a, spread_b) > BLOCK_DETAIL
    same_level = np.abs(mean_a - mean_b) < BLOCK_LEVEL_TOLERANCE
    same_structure = np.where(detailed, correlation > BLOCK_CORRELATION, True)
    return same_structure & same_level, same_structure, correlation, detailed


def _overlaid_blocks(z_a: np.ndarray, z_b: np.ndarray, disagreeing: np.ndarray) -> np.ndarray:
    """Per pair of blocks (pixels along the last axis, levels matched): whether it is among the ``disagreeing`` and one
    picture shows the other's block under a thin overlay (stripes, lines of text, small stickers, DISC21's AugLy
    edits): every block they cross holds some of them, so whole blocks disagree, where the pixels beside them agree.
    One picture (``over``) differs from the other (``under``) where an overlay covers it: there it is at the overlay's
    level (the middle of its differing pixels) or between that and the picture under it (an anti-aliased or
    translucent edge); the rest, at least MIN_VISIBLE of the block, agrees pixel by pixel and holds detail of the
    picture (two pictures under one overlay agree on the overlay, flat; a sky under a stripe is left as it was). And
    one overlay has one colour (_one_level): where two pictures differ by a picture, the levels vary."""
    overlaid = np.zeros(len(z_a), bool)
    if not disagreeing.any():
        return overlaid
    for under, over in ((z_a[disagreeing], z_b[disagreeing]), (z_b[disagreeing], z_a[disagreeing])):
        step = over - under
        differs = np.abs(step) > OVERLAY_TOLERANCE
        count = differs.sum(axis=-1)
        # The overlay's level: the median of over's differing pixels (sorted first; 0 where none differs).
        ordered = np.sort(np.where(differs, over, np.inf), axis=-1)
        middle = np.take_along_axis(ordered, np.stack([(count - 1) // 2, count // 2], -1).clip(0), -1)
        level = np.where(count > 0, middle.mean(axis=-1), 0.0)[:, None]
        towards = level - under
        covered = differs & ((np.abs(over - level) <= OVERLAY_TOLERANCE)
                             | ((step * towards > 0) & (np.abs(step) <= np.abs(towards) + OVERLAY_TOLERANCE)))
        visible = ~differs
        shown = visible.sum(axis=-1)
        shown_mean = (under * visible).sum(axis=-1) / np.maximum(shown, 1)
        shown_spread = np.sqrt((((under - shown_mean[:, None]) ** 2) * visible).sum(axis=-1) / np.maximum(shown, 1))
        fits = ((count > 0) & (shown >= MIN_VISIBLE * under.shape[-1]) & (shown_spread > BLOCK_DETAIL)
                & (_mean(differs & ~covered, -1) <= MAX_UNEXPLAINED))
        overlaid[disagreeing] |= _one_level(level[:, 0], fits)
    return overlaid


def _one_level(levels: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """The ``candidates`` whose level is within OVERLAY_TOLERANCE of the one most of them share: one overlay, one
    colour (the stripes, the text); where the other picture differs by a picture of its own, its levels vary."""
    if not candidates.any():
        return candidates
    near = np.abs(levels[:, None] - levels[None, :]) <= OVERLAY_TOLERANCE
    support = np.where(candidates, (near & candidates).sum(axis=1), -1)
    return candidates & near[np.argmax(support)]


def _moved_blocks(z_a: np.ndarray, valid: np.ndarray, valid_blocks: np.ndarray, blocks_b: np.ndarray,
                  disagreeing: np.ndarray) -> np.ndarray:
    """Per overlapping block (``blocks_b``, b's pixels of those of ``valid_blocks``): whether it is among the
    ``disagreeing`` and agrees with a's picture (``z_a``, warped onto b's grid, ``valid`` where it is) at some shift of
    up to MOVED_SEARCH pixels along each axis, wholly inside a's picture there: the scene moved (parallax), not
    covered."""
    moved = np.zeros(len(blocks_b), bool)
    if not disagreeing.any():
        return moved
    rows, columns = (index[disagreeing] * LUMA_BLOCK for index in np.nonzero(valid_blocks))
    shifts = np.arange(2 * MOVED_SEARCH + 1)  # (the window at shift 0 starts MOVED_SEARCH pixels into the padding)
    rows, columns = rows[:, None, None] + shifts[None, :, None], columns[:, None, None] + shifts[None, None, :]

    def patches(image: np.ndarray) -> np.ndarray:  # (disagreeing block, shift, pixel)
        windows = np.lib.stride_tricks.sliding_window_view(np.pad(image, MOVED_SEARCH), (LUMA_BLOCK, LUMA_BLOCK))
        return windows[rows, columns].reshape(len(rows), -1, LUMA_BLOCK * LUMA_BLOCK)

    agree = _blocks_agree(patches(z_a), blocks_b[disagreeing][:, None, :])[0]
    moved[disagreeing] = (agree & patches(valid).all(axis=-1)).any(axis=1)
    return moved


def _covered_share(agree: np.ndarray, moved: np.ndarray) -> float:
    """The share of the overlapping blocks covered: disagreeing in place and not moved (_moved_blocks), a caption, a
    sticker or a logo over a copy, where another capture of the scene shows the same texture moved by its parallax;
    at most MAX_COVERED (pictures that share a layout but not their content, a template, a series, differ over much
    more). The score leaves them out of the agreement (uncovered_agreement)."""
    return min(MAX_COVERED, np.count_nonzero(~agree & ~moved) / len(agree))


def _colour(fingerprint: ImageFingerprint) -> np.ndarray:
    return np.frombuffer(fingerprint.colour, np.uint8).reshape(COLOUR_SIDE, COLOUR_SIDE, 3).astype(np.float32)


def _rows(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``values[mask]`` for a boolean ``mask`` over all of ``values``' axes but its last (an image's pixels, points'
    rows), the same elements in the same order by compress(): numpy's boolean indexing of rows this narrow (2 to 4
    values) costs several times as much."""
    return values.reshape(-1, values.shape[-1]).compress(mask.ravel(), axis=0)


def _luma(fingerprint: ImageFingerprint) -> np.ndarray:
    return np.frombuffer(fingerprint.luma, np.uint8).reshape(LUMA_SIDE, LUMA_SIDE).astype(np.float32)


def _colour_layout(fingerprint: ImageFingerprint) -> np.ndarray:
    """4x4 mean colours: all that tells flat images apart."""
    return cv2.resize(_colour(fingerprint), (4, 4), interpolation=cv2.INTER_AREA)


def colour_change(colour_a: np.ndarray, colour_b: np.ndarray, valid: np.ndarray) -> float:
    """Of the colour blocks both images cover, the fraction whose colours differ beyond one global colour mapping."""
    forward, backward = _colour_differs(colour_a, colour_b, valid), _colour_differs(colour_b, colour_a, valid)
    if forward is None:
        return 0.0
    return float((forward[0] & backward[0])[_blocks(valid, COLOUR_BLOCK).all(axis=2)].mean())


def _colour_differs(colour_a: np.ndarray, colour_b: np.ndarray, valid: np.ndarray,
                    fitted_from: np.ndarray | None = None,
                    whole_map: Callable | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Per COLOUR_BLOCK block: do the colours differ beyond one global colour mapping? And a's valid pixels under
    that mapping (0-1; clipped to the range, a channel at its top in a taken as a lower bound), which the luminance
    check reuses. (None: too little overlap.) ``fitted_from``: the valid pixels the mapping and the colour spread are
    fitted to (all of them if None; not a band's ring, _band_ring).

    An affine map of (r, g, b) explains a filter, grading, grayscale, sepia or a hue rotation of a photo. A
    design of a few colours could have any recolour of one of them fitted so: there a gain and offset per
    channel (brightness, contrast, colour balance) come first, and the affine map only when that leaves
    most blocks unexplained. Each is fitted by least squares and refitted without the worst-fitting third;
    the recoloured part of a colour variant stays unexplained. ``whole_map``: that map alone, fitted to every
    palette entry (_global_edit)."""
    valid_blocks = _blocks(valid, COLOUR_BLOCK).all(axis=2)
    if valid_blocks.sum() < 4:
        return None
    x, target = _rows(colour_a, valid) / 255.0, _rows(colour_b, valid) / 255.0
    fit = slice(None) if fitted_from is None else fitted_from[valid]
    tolerance = _colour_tolerance(colour_b, valid, fitted_from)

    top = x >= CLIPPED_LEVEL / 255.0

    def bounded(fitted: np.ndarray) -> np.ndarray:
        # Clipped to the range as pixels are: a brightened channel stops at the top, where the mapped one must too.
        # And a channel at the top in a (a brightened copy's highlights, its white) was that high or higher before:
        # mapped, it is a lower bound, and b's channel anywhere above it is explained.
        clipped = np.clip(fitted, 0.0, 1.0)
        return np.where(top, np.maximum(clipped, target), clipped)

    def unexplained(fitted: np.ndarray) -> np.ndarray:
        residual = _shifted_residual(bounded(fitted), colour_b / 255.0, valid)
        return _mean(_blocks(residual, COLOUR_BLOCK), 2) > tolerance

    if whole_map is not None:
        # Fitted inside a's flat areas where those hold enough colours to fit the map (_palette_clipping; a logo's
        # circle and emblem on white do not): a thumbnail pixel on an edge averages its two sides, which an edit that
        # clips one of them (a white ground brightened) maps unlike their average, and a line of text thinner than a
        # pixel is such a blend everywhere, a palette entry of its own that skews the fit. For the same reason a
        # pixel on an edge next to a colour the map clips is not judged: its other side may be too thin to show.
        flat = _inside_flat(colour_a)
        inside = flat[valid] & (np.ones(len(x), bool) if fitted_from is None else fitted_from[valid])
        if inside.any():
            *_, enough = _palette_clipping(x[inside], target[inside])
            fit = inside if enough else fit
        fitted_map = whole_map(x[fit], target[fit])
        if fitted_map is None:
            return None  # (it does not explain the palette it was fitted to)
        raw = fitted_map(x)
        clips = np.zeros(valid.shape, np.uint8)
        clips[valid] = ((raw >= 1.0) | (raw <= 0.0)).any(axis=1)
        unjudged = valid & ~flat & cv2.dilate(clips, np.ones((3, 3), np.uint8)).astype(bool)
        mapped = bounded(raw)
        residual = _shifted_residual(mapped, colour_b / 255.0, valid)
        residual[unjudged] = 0.0
        mapped[unjudged[valid]] = target[unjudged[valid]]  # (nor its luminance: _luminance_moved)
        return _mean(_blocks(residual, COLOUR_BLOCK), 2) > tolerance, mapped
    for per_channel in ((True, False) if _few_colours(_rows(colour_a, valid)[fit]) else (False,)):
        fitted = (_palette_lines if per_channel else _affine_map)(x[fit], target[fit])(x)
        differs = unexplained(fitted)
        if _mean(differs[valid_blocks], 0) <= MAX_LOCAL_RECOLOUR:
            break
    # A brightness, contrast or gamma change bends all three channels by one curve, which neither map can follow
    # where it clips or bends (_tone_curve), and a grayscale copy is one curve of the luminance (a palette line per
    # channel cannot mix them); of the mappings, the one that leaves least unexplained. Not from a grey picture: the
    # colour check judges nothing from it, and the curve, fitted to colours, takes each grey to the mean of the
    # other's channels there, not to its luminance, which the luminance check then finds moved in every block of a
    # colour whose channels' mean and luminance differ (blue, yellow).
    tones = [] if _colourless(_rows(colour_a, valid)[fit]) else [lambda: _tone_curve(x[fit], target[fit])(x)]
    if tones and _colourless(_rows(colour_b, valid)[fit]):
        luma = np.repeat(x @ LUMA_WEIGHTS[:, None], 3, axis=1)
        tones.append(lambda: _tone_curve(luma[fit], target[fit])(luma))

    def left(differs: np.ndarray, fitted: np.ndarray) -> tuple[float, float]:
        # The share of blocks whose colour is unexplained; between mappings equal on that, the share whose colour or
        # luminance is (_luminance_moved): the affine map of a brightened product on white, the white held, matches
        # each block's colour within the tolerance (widened by the white) and misses its brightness, which the tone
        # curve follows.
        moved = _luminance_moved(bounded(fitted), colour_b, valid)
        return _mean(differs[valid_blocks], 0), _mean((differs | moved)[valid_blocks], 0)

    unexplained_share = left(differs, fitted) if tones else None
    for tone_curve in tones:
        if unexplained_share == (0.0, 0.0):
            break  # nothing left to explain
        tone = tone_curve()
        tone_differs = unexplained(tone)
        tone_share = left(tone_differs, tone)
        if tone_share < unexplained_share:
            differs, fitted, unexplained_share = tone_differs, tone, tone_share
    return differs, bounded(fitted)


def _global_edit(colour_a: np.ndarray, colour_b: np.ndarray, valid: np.ndarray, fitted_from: np.ndarray | None,
                 valid_blocks: np.ndarray) -> bool:
    """Does one global edit of at most three numbers, fitted from either picture, explain the colour and the luminance
    (_luminance_moved) of every one of the ``valid_blocks``? One tone curve (_tone_curve: brightness, contrast and
    gamma, clipped; round designs17), fitted to all the palette entries (not trimmed), or one line of the luminance
    with one gain of the chroma (_chroma_gain: saturation, and brightness and contrast with it, a colour jitter,
    clipped; round pixel18), or one turn of every hue (_hue_turn: a hue rotation, one too small for _hue_turns to judge
    included; round art25). None can recolour one element of a picture unlike the rest (the chroma gain scales every
    colour's chroma alike and turns no hue; the turn turns all), and any block they leave unexplained keeps the colour
    check's verdict. The colour check's maps, refitted without their worst-fitting third, can miss some of such an edit,
    and a miss in either direction counts there (the luminance of a design's dark ground from its gamma-brightened copy:
    the curve fitted to a few pale colours and the ground drops the ground), and a design's gain and offset per
    channel cannot follow a change of saturation, which mixes the channels."""
    return any(_explains_every_block(whole_map, colour_a, colour_b, valid, fitted_from, valid_blocks)
               for whole_map in (functools.partial(_tone_curve, trimmed=False), _chroma_gain, _hue_turn)) or \
        _toning(colour_a, colour_b, valid, fitted_from, valid_blocks)


def _toning(colour_a: np.ndarray, colour_b: np.ndarray, valid: np.ndarray, fitted_from: np.ndarray | None,
            valid_blocks: np.ndarray) -> bool:
    """Is one picture a toning of the other (sepia: one tint of the luminance, _tint, explains every block) that
    changed the colours? A toning takes every colour to its tone: where more than MAX_HUE_KEPT of the blocks with
    colour in either picture kept their colours (_unchanged), the picture of one hue was of that hue already (the sea,
    a bark) and the rest of the other changed alone: a part recoloured, whose luminance the tint may give too."""
    saturation = [cv2.cvtColor((_mean(_blocks(colour, COLOUR_BLOCK), 2) / 255.0).astype(np.float32),
                               cv2.COLOR_RGB2HSV)[..., 1] for colour in (colour_a, colour_b)]
    coloured = valid_blocks & ((saturation[0] > MIN_HUE_SATURATION) | (saturation[1] > MIN_HUE_SATURATION))
    if coloured.any() and _unchanged(colour_a, colour_b, valid, fitted_from)[coloured].mean() > MAX_HUE_KEPT:
        return False
    return _explains_every_block(_tint, colour_a, colour_b, valid, fitted_from, valid_blocks)


def _explains_every_block(whole_map: Callable, colour_a: np.ndarray, colour_b: np.ndarray, valid: np.ndarray,
                          fitted_from: np.ndarray | None, valid_blocks: np.ndarray) -> bool:
    """Does ``whole_map``, fitted from either picture to the other (_colour_differs), explain the colour and the
    luminance (_luminance_moved) of every one of the ``valid_blocks``?"""
    for start, end in ((colour_a, colour_b), (colour_b, colour_a)):
        fit = _colour_differs(start, end, valid, fitted_from, whole_map)
        if fit is not None and not (fit[0] | _luminance_moved(fit[1], end, valid))[valid_blocks].any():
            return True
    return False


def _affine_map(x: np.ndarray, target: np.ndarray):
    """The affine map of colours (0-1) taking ``x`` to ``target``, fitted by least squares, refitted without the
    worst-fitting third (an overlay or a recoloured part does not skew it): a function of colours."""
    keep = np.ones(len(x), bool)
    design = np.hstack([x, np.ones((len(x), 1))])
    for _ in range(2):
        coefficients = np.linalg.lstsq(_rows(design, keep), _rows(target, keep), rcond=None)[0]
        error = _norm(design @ coefficients - target)
        keep = error <= _quantile(error, 0.67)
    return lambda colours: np.hstack([colours, np.ones((len(colours), 1))]) @ coefficients


def _colour_spread(colours: np.ndarray) -> float:
    """RMS distance of the colours (0-1) from their mean, at least MIN_COLOUR_SPREAD: the colour check's unit."""
    return max(float(np.sqrt(_mean(((colours - _mean(colours, 0)) ** 2).sum(axis=1), 0))), MIN_COLOUR_SPREAD)


def _colour_tolerance(colour_b: np.ndarray, valid: np.ndarray, fitted_from: np.ndarray | None) -> float:
    """The colour residual (0-1) a block may keep and count as explained: COLOUR_TOLERANCE of b's colour spread
    over the valid pixels (those the mapping was fitted from, when given)."""
    measured = valid if fitted_from is None else valid & fitted_from
    return COLOUR_TOLERANCE * _colour_spread(_rows(colour_b, measured) / 255.0)


def _unchanged(colour_a: np.ndarray, colour_b: np.ndarray, valid: np.ndarray,
               fitted_from: np.ndarray | None = None) -> np.ndarray:
    """Per COLOUR_BLOCK block: are a's colours b's, without any mapping (within the colour check's tolerance)? As
    they are, or both smoothed over 3 x 3 pixels: a line thinner than two thumbnail pixels comes out dark on one
    pixel or pale on two, as the thumbnails' grids fall, and smoothed alike either way. (``fitted_from``: the pixels
    the tolerance's colour spread is measured on, as for _colour_differs.)"""
    tolerance = _colour_tolerance(colour_b, valid, fitted_from)
    unchanged = None
    for smooth in (False, True):
        if smooth:  # (a's mean over its valid pixels only: outside them it is black)
            weight = cv2.blur(valid.astype(np.float32), (3, 3))
            colour_a = cv2.blur(colour_a * valid[..., None], (3, 3)) / np.maximum(weight, 1e-6)[..., None]
            colour_b = cv2.blur(colour_b, (3, 3))
        residual = _shifted_residual(_rows(colour_a, valid) / 255.0, colour_b / 255.0, valid)
        within = _mean(_blocks(residual, COLOUR_BLOCK), 2) <= tolerance
        unchanged = within if unchanged is None else unchanged | within
    return unchanged


def _clipped(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Per COLOUR_BLOCK block: has at least half of it a channel at the top of the range in ``start`` but not in
    ``end``?"""
    top = (start >= CLIPPED_LEVEL).any(axis=2) & ~(end >= CLIPPED_LEVEL).any(axis=2)
    return _mean(_blocks(top, COLOUR_BLOCK), 2) >= 0.5


def _luminance_moved(mapped: np.ndarray, colour_b: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per COLOUR_BLOCK block: is b's mean luminance further than LUMINANCE_TOLERANCE from that of ``mapped`` (the
    other picture's colours under the global colour mapping the colour check fitted, 0-1, clipped to the range as
    pixels are)? A filter, grading, grayscale, sepia or hue rotation maps every colour alike; a local recolour
    moves one part's luminance. Block means, not pixels: a block's texture may be off by a pixel, its mean hardly
    moves."""
    moved = np.zeros(valid.shape, np.float32)
    moved[valid] = np.clip(mapped, 0.0, 1.0) @ LUMA_WEIGHTS - _rows(colour_b, valid) / 255.0 @ LUMA_WEIGHTS
    return np.abs(_mean(_blocks(moved, COLOUR_BLOCK), 2)) > LUMINANCE_TOLERANCE


def _palette_lines(x: np.ndarray, target: np.ndarray):
    """The map of colours (0-1) taking ``x`` (pixels of a design of few colours) to ``target`` by a gain and offset
    per channel (a function of colours), fitted to the mean colours of its palette entries (_palette), refitted
    without the worst-fitting third of them. Each colour counts once whatever its area: a fit to the pixels
    would follow the background alone and miss every other colour of a re-encoded logo."""
    mean_x, mean_target, major = _palette(x, target)
    keep = major
    for _ in range(2):
        lines = [_line_through(mean_x[keep, c], mean_target[keep, c]) for c in range(3)]
        error = _norm(np.stack([line(mean_x[:, c]) for c, line in enumerate(lines)], axis=1) - mean_target)
        keep = major & (error <= _quantile(error[major], 0.67))
    return lambda colours: np.stack([line(colours[:, c]) for c, line in enumerate(lines)], axis=1)


def _palette(x: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The palette entries of ``x`` (colours 0-1; 8 levels per channel): their mean colour in ``x`` and in ``target``,
    and whether they cover at least MIN_PALETTE_SHARE (a smaller one is an anti-aliased edge)."""
    _, entry, counts = np.unique(_colour_codes(x * 255.0), return_inverse=True, return_counts=True)
    mean_x, mean_target = (np.stack([np.bincount(entry, v[:, c]) / counts for c in range(3)], axis=1)
                           for v in (x, target))
    return mean_x, mean_target, counts >= MIN_PALETTE_SHARE * len(x)


def _palette_clipping(x: np.ndarray, target: np.ndarray):
    """_palette's (mean_x, mean_target, major); per entry and channel, whether neither picture is clipped there; and
    whether at least three major entries have such a channel, to fit a whole-picture map's three numbers to."""
    mean_x, mean_target, major = _palette(x, target)
    # (nor where x is at the top: an edit that clipped it there says only that its level was as high or higher)
    unclipped = (mean_target > 1.0 - CLIPPED_LEVEL / 255.0) & (mean_target < CLIPPED_LEVEL / 255.0) \
        & (mean_x < CLIPPED_LEVEL / 255.0)
    return mean_x, mean_target, major, unclipped, (major & unclipped.any(axis=1)).sum() >= 3


def _unclipped_palette(x: np.ndarray, target: np.ndarray):
    """_palette's (mean_x, mean_target, major) and, per entry and channel, whether neither picture is clipped there,
    for the whole-picture maps fitted where nothing clipped (_tone_curve, _chroma_gain). A picture of many colours,
    fewer than three of those covering MIN_PALETTE_SHARE left where the target is not clipped (a product on white: the
    white, clipped, and one more colour): every entry counts as major."""
    mean_x, mean_target, major, unclipped, enough = _palette_clipping(x, target)
    return mean_x, mean_target, major if enough else np.ones(len(major), bool), unclipped


def _tone_curve(x: np.ndarray, target: np.ndarray, trimmed: bool = True):
    """The map of colours (0-1) taking ``x`` to ``target`` by one tone curve for all three channels, offset + gain *
    x ** gamma (gamma from TONE_GAMMAS; a function of colours), fitted to the palette entries (_palette: each colour
    once, as _palette_lines does) by least squares where the target is not clipped, refitted without the worst-
    fitting third of them, the gamma fitting best kept. Brightness, contrast and gamma edits are such a curve,
    clipped at the ends of the range, as is any chain of them to within a few levels; three numbers for all channels
    cannot recolour one element of a design unlike the others, where a gain and offset per channel (_palette_lines)
    explain brightness and contrast only until they clip, and gamma not at all. Not ``trimmed``: fitted to all the
    entries (_global_edit asks whether one curve explains them all)."""
    mean_x, mean_target, major, unclipped = _unclipped_palette(x, target)
    powered = mean_x[None] ** TONE_GAMMAS[:, None, None]  # gamma, entry, channel
    keep = np.broadcast_to(major, (len(TONE_GAMMAS), len(major)))
    for _ in range(2):
        weight = (keep[..., None] & unclipped).astype(np.float64)  # gamma, entry, channel
        total = np.maximum(weight.sum(axis=(1, 2)), 1.0)
        mean_u, mean_y = (weight * powered).sum(axis=(1, 2)) / total, (weight * mean_target).sum(axis=(1, 2)) / total
        centred = powered - mean_u[:, None, None]
        variance = (weight * centred ** 2).sum(axis=(1, 2))
        covariance = (weight * centred * (mean_target - mean_y[:, None, None])).sum(axis=(1, 2))
        # (a gain near 0 or below would fit a flat or inverted picture: no edit)
        gain = np.where(variance > 1e-6, np.maximum(covariance / np.maximum(variance, 1e-6), 0.1), 1.0)
        offset = mean_y - gain * mean_u
        fitted = np.clip(offset[:, None, None] + gain[:, None, None] * powered, 0.0, 1.0)
        error = _norm(fitted - mean_target)  # gamma, entry
        keep = major & (error <= _quantile(error[:, major], 0.67 if trimmed else 1.0)[:, None])
    best = int(np.argmin([e[k].mean() if k.any() else np.inf for e, k in zip(error, keep)]))
    return lambda colours: offset[best] + gain[best] * colours ** TONE_GAMMAS[best]


def _chroma_gain(x: np.ndarray, target: np.ndarray):
    """The map of colours (0-1) taking ``x`` to ``target`` by one line of the luminance and one gain of the chroma
    (each colour's offset from the grey of its luminance): offset + gain * luma + chroma gain * (colour - luma), a
    function of colours, fitted to the palette entries (_palette: each colour once) by least squares where neither
    picture is clipped (as _tone_curve), refitted without the worst-fitting third of them. Saturation, brightness
    and contrast edits, alone or chained (a colour jitter), are such a map, clipped at the ends of the range; three
    numbers for all colours scale every colour's chroma alike and turn no hue (the chroma gain is not negative), where
    a gain and offset per channel (_palette_lines) cannot mix the channels a change of saturation mixes."""
    mean_x, mean_target, major, unclipped = _unclipped_palette(x, target)
    luma = mean_x @ LUMA_WEIGHTS
    terms = np.stack([np.ones_like(mean_x), np.repeat(luma[:, None], 3, axis=1), mean_x - luma[:, None]], axis=2)
    keep = major
    offset, gain, chroma_gain = 0.0, 1.0, 1.0
    for _ in range(2):
        fitted = keep[:, None] & unclipped  # entry, channel
        if fitted.sum() < 3:
            break
        offset, gain, chroma_gain = np.linalg.lstsq(terms[fitted], mean_target[fitted], rcond=None)[0]
        chroma_gain = max(float(chroma_gain), 0.0)
        error = _norm(np.clip(terms @ [offset, gain, chroma_gain], 0.0, 1.0) - mean_target)
        keep = major & (error <= _quantile(error[major], 0.67))

    def mapped(colours: np.ndarray) -> np.ndarray:
        grey = (colours @ LUMA_WEIGHTS)[:, None]
        return offset + gain * grey + chroma_gain * (colours - grey)
    return mapped


def _grading(x: np.ndarray, target: np.ndarray):
    """The map of colours (0-1) taking ``x`` to ``target`` by one gain of the chroma and line of the luminance
    (_chroma_gain: saturation and contrast) and then a gain and offset per channel (_palette_lines: a colour balance),
    each fitted as those are: a colour grading's chain (a warm look: contrast and saturation up, red lifted, blue
    lowered), which neither follows alone where the saturation mixes the channels. A function of colours."""
    saturated = _chroma_gain(x, target)
    balanced = _palette_lines(np.clip(saturated(x), 0.0, 1.0), target)
    return lambda colours: balanced(np.clip(saturated(colours), 0.0, 1.0))


def _channel_curves(x: np.ndarray, target: np.ndarray):
    """The map of colours (0-1) taking ``x`` to ``target`` by one non-decreasing curve per channel through the palette
    entries' means (_palette: each colour once; an isotonic fit, _non_decreasing), linear between them and flat beyond:
    a function of colours. Curves, levels and posterizing per channel (3 bits move a channel by up to 31 levels, a
    step no line follows) are such a map; a recolour of one entry breaks the order of its channels against the other
    entries' where it moves unlike them (lime to spring green: red down, blue up, while the others keep theirs)."""
    mean_x, mean_target, _ = _palette(x, target)
    curves = []
    for c in range(3):
        order = np.argsort(mean_x[:, c], kind="stable")
        curves.append((mean_x[order, c], _non_decreasing(mean_target[order, c])))
    return lambda colours: np.stack([np.interp(colours[:, c], *curves[c]) for c in range(3)], axis=1)


def _non_decreasing(values: np.ndarray) -> np.ndarray:
    """The least-squares non-decreasing fit of ``values`` (pool adjacent violators)."""
    means, counts = [], []
    for value in values:
        means.append(float(value))
        counts.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            mean, count = means.pop(), counts.pop()
            means[-1] = (means[-1] * counts[-1] + mean * count) / (counts[-1] + count)
            counts[-1] += count
    return np.repeat(means, counts)


def _tint(x: np.ndarray, target: np.ndarray):
    """The map of colours (0-1) taking ``x`` to ``target`` by one tint of the luminance: a gain per channel times the
    luminance, through black (a function of colours), fitted to the palette entries (_palette: each colour once) by
    least squares where neither picture is clipped (as _tone_curve). Sepia and other tonings from black are such a
    map, clipped at the top of the range; three numbers give every colour of one luminance one colour, and every
    colour one chromaticity: they explain no picture of two hues. None where ``target`` is not of one hue (ONE_HUE), the
    tint is too saturated for a toning (MAX_TONE_SATURATION), or the map misses the luminance of a palette entry."""
    if _colourless(target * 255.0):
        return None  # (a grey picture is one curve of the luminance, _colour_differs; a tint of it would be any gain)
    hsv = cv2.cvtColor(target[None].astype(np.float32), cv2.COLOR_RGB2HSV)[0]
    chromatic = (hsv[:, 1] > MIN_HUE_SATURATION) & (hsv[:, 2] > 0.15)
    if np.abs(np.exp(1j * np.radians(hsv[chromatic, 0])).sum()) <= ONE_HUE * max(chromatic.sum(), 1):
        return None
    mean_x, mean_target, major, unclipped = _unclipped_palette(x, target)
    luma = (mean_x @ LUMA_WEIGHTS)[:, None]
    fitted = major[:, None] & unclipped  # entry, channel
    for _ in range(2):  # refitted without the channels the map clips: a palette mean there blends clipped pixels
        gains = (fitted * luma * mean_target).sum(axis=0) / np.maximum((fitted * luma ** 2).sum(axis=0), 1e-6)
        fitted = major[:, None] & unclipped & (luma * gains < CLIPPED_LEVEL / 255.0)
    # Its luminance must follow the luminance of every major entry it leaves unclipped: the blocks' check leaves the
    # edges next to what the map clips unjudged (_colour_differs), and a design of thin strokes on white is all edges.
    judged = major & fitted.all(axis=1)
    if judged.sum() < MIN_TINTED_COLOURS or 1.0 - gains.min() / max(gains.max(), 1e-6) > MAX_TONE_SATURATION or (
            np.abs((luma * gains - mean_target)[judged] @ LUMA_WEIGHTS) > LUMINANCE_TOLERANCE).any():
        return None
    return lambda colours: (colours @ LUMA_WEIGHTS)[:, None] * gains


def _hue_turn(x: np.ndarray, target: np.ndarray):
    """The map of colours (0-1) turning every colour's HSV hue by one angle, saturation and value kept (_turn_hues): a
    function of colours, the angle the mean turn of the chromatic palette entries (_palette: each colour once) where
    neither picture is clipped. A hue rotation of the whole picture is one number; _hue_turns judges it block by block
    only beyond HUE_TURN_TOLERANCE (under it, a part recoloured within the colour tolerance would pass as turned by 0),
    and no affine map of RGB follows it. One angle cannot turn one element unlike the rest, nor colour a grey, nor move
    a colour's saturation or value. None where fewer than MIN_TINTED_COLOURS chromatic entries tell the angle, or where
    the turn misses the luminance of an entry neither picture clips (as _tint: the blocks' check leaves what the map
    clips, and the edges next to it, unjudged, so two designs of one layout in other palettes, brightened until a
    channel clips, were explained by their few entries left)."""
    mean_x, mean_target, major, unclipped = _unclipped_palette(x, target)
    hsv_x, hsv_target = (cv2.cvtColor(colours[None].astype(np.float32), cv2.COLOR_RGB2HSV)[0]
                         for colours in (mean_x, mean_target))
    judged = major & unclipped.all(axis=1)
    chromatic = judged & (hsv_x[:, 1] > MIN_HUE_SATURATION) & (hsv_target[:, 1] > MIN_HUE_SATURATION) \
        & (hsv_x[:, 2] > 0.15) & (hsv_target[:, 2] > 0.15)
    if chromatic.sum() < MIN_TINTED_COLOURS:
        return None
    turn = math.degrees(np.angle(np.exp(1j * np.radians(hsv_target[chromatic, 0] - hsv_x[chromatic, 0])).mean()))
    turned = _turn_hues(mean_x[judged] * 255.0, turn) / 255.0
    if (np.abs((turned - mean_target[judged]) @ LUMA_WEIGHTS) > LUMINANCE_TOLERANCE).any():
        return None
    return lambda colours: _turn_hues(colours * 255.0, turn) / 255.0


def _entry_hue_turn(x: np.ndarray, target: np.ndarray):
    """The map of colours (0-1) turning every colour's HSV hue by one angle (_turn_hues), the angle one palette entry
    of colour (MIN_CHROMA) turned by, of those of ``x`` and ``target`` (one colour per entry: _palette_recoloured), the
    one that takes every entry nearest its target: a function of colours, or None where no entry has a colour. A hue
    rotation of a design of one saturated colour beside pale ones, which _hue_turn's two saturated entries do not
    tell (a pale violet and a yellow, turned together)."""
    coloured = (np.ptp(x, axis=1) > MIN_CHROMA) & (np.ptp(target, axis=1) > MIN_CHROMA)
    if not coloured.any():
        return None
    hue_x, hue_target = (cv2.cvtColor(v[None].astype(np.float32), cv2.COLOR_RGB2HSV)[0, :, 0] for v in (x, target))
    turns = (hue_target - hue_x)[coloured]
    errors = [_norm(_turn_hues(x * 255.0, turn) / 255.0 - target).max() for turn in turns]
    turn = float(turns[int(np.argmin(errors))])
    return lambda colours: _turn_hues(colours * 255.0, turn) / 255.0


def _inside_flat(colours: np.ndarray) -> np.ndarray:
    """Per pixel of a colour thumbnail (0-255): does its 3 x 3 neighbourhood span at most FLAT_COLOUR_RANGE levels in
    every channel (inside a flat area, not on an edge)?"""
    window = np.ones((3, 3), np.uint8)
    spans = [cv2.dilate(channel, window) - cv2.erode(channel, window)
             for channel in cv2.split(colours.astype(np.float32))]
    return np.max(spans, axis=0) <= FLAT_COLOUR_RANGE


def _shifted_residual(fitted: np.ndarray, target: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per pixel of ``target`` (0 outside ``valid``): the distance to the nearest of the ``fitted`` colours
    (one per valid pixel) at it or a neighbour. A colour edge the alignment misses by a pixel leaves no residual;
    the inside of a recoloured part does."""
    predicted = np.full(target.shape, np.inf, np.float32)
    # (predicted[valid] = fitted, on the flat array: numpy's masked assignment of rows of 3 costs several times as much)
    predicted.reshape(-1)[np.repeat(valid.ravel(), 3)] = fitted.ravel()
    height, width = valid.shape
    # Channel planes with the edge repeated around them, so each neighbour is a slice; the squared distances summed
    # channel by channel in the order norm() sums them, and one square root after the minimum (it is monotonic):
    # the same values as a norm per neighbour, in about half the time. (The edge by OpenCV's border, not by indexing
    # the planes with clipped rows and columns: the same values, about a quarter of the time.)
    padded = np.ascontiguousarray(cv2.copyMakeBorder(predicted, 1, 1, 1, 1, cv2.BORDER_REPLICATE).transpose(2, 0, 1))
    target = np.ascontiguousarray(target.transpose(2, 0, 1))
    nearest = None
    for dy in range(3):
        for dx in range(3):
            difference = padded[:, dy:dy + height, dx:dx + width] - target
            difference *= difference
            squared = difference[0] + difference[1]
            squared += difference[2]
            nearest = squared if nearest is None else np.minimum(nearest, squared, out=nearest)
    nearest = np.sqrt(nearest)
    return np.where(valid & np.isfinite(nearest), nearest, 0.0).astype(np.float32)


def _quantile(values: np.ndarray, q: float):
    """np.quantile(values, q, axis=-1) (linear interpolation) from one partial sort, without its overhead."""
    position = q * (values.shape[-1] - 1)
    low = int(position)
    high = min(low + 1, values.shape[-1] - 1)
    part = np.partition(values, (low, high), axis=-1)
    return (part[..., low] + (part[..., high] - part[..., low]) * (position - low))[()]  # (a scalar for a vector)


def _line_through(x: np.ndarray, y: np.ndarray):
    """The least-squares line y = gain * x + offset, as a function (a flat x: the offset alone)."""
    variance = x.var()
    gain = float(((x - x.mean()) * (y - y.mean())).mean() / variance) if variance > 1e-6 else 0.0
    offset = y.mean() - gain * x.mean()
    return lambda v: gain * v + offset


def _few_colours(pixels: np.ndarray) -> bool:
    """At most FEW_COLOURS colours (8 levels per channel) cover 90% of the pixels: flat design. (90, not 95: an
    illustration's 32 x 32 thumbnail has its shapes' blended edges, 4-8% of it, and with the affine map instead
    of the per-channel one the recolour of its ground was explained by the colours left free; chosen on tune.)"""
    counts = np.sort(np.bincount(_colour_codes(pixels), minlength=512))[::-1]
    return counts[:FEW_COLOURS].sum() >= 0.9 * len(pixels)


def _colour_codes(pixels: np.ndarray) -> np.ndarray:
    """Each pixel's colour (0-255) at 8 levels per channel, as one code 0-511: the palette entries of a flat design."""
    return (pixels // 32).astype(np.int32) @ np.array([64, 8, 1])


def _monochrome(pixels: np.ndarray) -> bool:
    """Hardly any pixel has a colour (grayscale), or the colours lie along one line in RGB (sepia, a duotone: their
    unclipped pixels' RMS distance from their principal axis under TONED of their spread): nothing a colour mapping
    can start from."""
    if _colourless(pixels):
        return True
    unclipped = _rows(pixels, (pixels < CLIPPED_LEVEL).all(axis=1))
    if len(unclipped) < 0.05 * len(pixels):
        return False
    variances = np.linalg.eigvalsh(np.cov(unclipped, rowvar=False))  # ascending
    return variances[:2].sum() < TONED ** 2 * variances.sum()


def _colourless(pixels: np.ndarray) -> bool:
    """Hardly any of the pixels (0-255) has a colour: a grayscale picture."""
    chroma = pixels.max(axis=1) - pixels.min(axis=1)
    return (chroma > MIN_CHROMA * 255.0).sum() < 0.05 * len(pixels)


def _hue_turns(colour_a: np.ndarray, colour_b: np.ndarray, valid: np.ndarray,
               fitted_from: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, bool]:
    """Per COLOUR_BLOCK block: (did its hue move unlike the others'?, did the whole picture's hues turn and this block's
    with them?), and did the whole picture's hues turn (beyond HUE_TURN_TOLERANCE), every chromatic block's within
    MAX_HUE_DEVIATION of the turn (round wm22: two logos of one layout, a magenta ring turned crimson and a cyan emblem
    green, turn their colours unlike each other)? A global edit keeps the hue differences between colours (a hue
    rotation turns them all alike) or takes the hue away (grayscale, sepia); recolouring one element of a design with
    few colours turns that one alone, which a global colour mapping can explain. A hue rotation is no affine map of RGB:
    where a's pixels, their hues turned by the whole picture's turn and their saturation and brightness kept
    (_turn_hues), give b's colours within the colour check's tolerance and its mean luminance within
    LUMINANCE_TOLERANCE, the block turned with the others, though no map fitted to the rest explains it. Pixel by pixel:
    a block holding two colours, or a pale one, is judged as its pixels are. Not where MAX_HUE_KEPT of the chromatic
    blocks kept their hue: a hue rotation turns every colour, so one element turned (a logo's emblem from magenta to
    crimson) is a recolour, however alike its pixels turned. (``valid``, ``fitted_from``: as for _unchanged.)"""
    means = _mean(_blocks(colour_a, COLOUR_BLOCK), 2), _mean(_blocks(colour_b, COLOUR_BLOCK), 2)
    hsv_a, hsv_b = (cv2.cvtColor((m / 255.0).astype(np.float32), cv2.COLOR_RGB2HSV) for m in means)
    chromatic = (hsv_a[..., 1] > MIN_HUE_SATURATION) & (hsv_b[..., 1] > MIN_HUE_SATURATION) \
        & (hsv_a[..., 2] > 0.15) & (hsv_b[..., 2] > 0.15)
    moved, alike = np.zeros(chromatic.shape, bool), np.zeros(chromatic.shape, bool)
    if chromatic.sum() < 4:
        return moved, alike, False
    angle_a, angle_b = np.radians(hsv_a[..., 0][chromatic]), np.radians(hsv_b[..., 0][chromatic])
    shift = np.exp(1j * (angle_b - angle_a))
    turn = np.angle(shift.mean())
    deviation = np.abs(np.angle(shift / np.exp(1j * turn)))
    turned_with = deviation <= np.radians(HUE_TURN_TOLERANCE)
    # A hue rotation turns every colour: where chromatic blocks kept their hue, one part turned alone (a recolour)
    kept = ~turned_with & (np.abs(np.angle(shift)) <= np.radians(HUE_TURN_TOLERANCE))
    if abs(turn) > np.radians(HUE_TURN_TOLERANCE) and turned_with.any() and kept.mean() < MAX_HUE_KEPT:
        turn = np.angle(shift[turned_with].mean())  # (a block of two colours turns its mean's hue otherwise)
        tolerance = _colour_tolerance(colour_b, valid, fitted_from)
        turned = _turn_hues(_rows(colour_a, valid), math.degrees(turn)) / 255.0
        residual = _shifted_residual(turned, colour_b / 255.0, valid)
        alike = (_mean(_blocks(residual, COLOUR_BLOCK), 2) <= tolerance) & ~_luminance_moved(turned, colour_b, valid)
    if max(np.abs(np.exp(1j * angle_a).mean()), np.abs(np.exp(1j * angle_b).mean())) <= ONE_HUE:
        moved[chromatic] = deviation > np.radians(MAX_HUE_DEVIATION)  # (one hue only, on either side: a toning)
    return moved, alike, bool(alike.any()) and bool((deviation <= np.radians(MAX_HUE_DEVIATION)).all())


def _value_agreement(colour_a: np.ndarray, colour_b: np.ndarray, valid: np.ndarray, valid_blocks: np.ndarray) -> float:
    """The fraction of the ``valid_blocks`` (of the COLOUR_BLOCK grid, the luminance blocks' own) whose HSV value, each
    pixel's largest channel, agrees as the luminance blocks do (_blocks_agree), on the colour thumbnails (round wm22). A
    hue rotation moves each colour's luminance its own way (a red ground turned blue darkens, its yellow text turned
    violet darkens more), so the luminance's one gain and offset cannot follow it and edges between two colours may
    flip their contrast; it keeps each pixel's largest and smallest channel, in HSV and in HSL alike."""
    value_a, value_b = colour_a.max(axis=2), colour_b.max(axis=2)
    z_a, z_b = _matched_levels(value_a, value_b, valid)
    judged = valid_blocks & _blocks(valid, COLOUR_BLOCK).all(axis=2)
    if judged.sum() < 4:
        return 0.0
    return float(_blocks_agree(_blocks(z_a, COLOUR_BLOCK)[judged], _blocks(z_b, COLOUR_BLOCK)[judged])[0].mean())


def _turn_hues(colours: np.ndarray, degrees: float) -> np.ndarray:
    """``colours`` (N x 3, 0-255) with their HSV hue turned by ``degrees``, saturation and value kept."""
    hsv = cv2.cvtColor((colours / 255.0).astype(np.float32)[None], cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0] + degrees) % 360.0
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0] * 255.0


def _cell(transform: np.ndarray, inverse: np.ndarray, points_b: np.ndarray, inliers_b: np.ndarray,
          matched_b: np.ndarray, a: ImageFingerprint, b: ImageFingerprint,
          frame: ImageFingerprint, aligned: tuple | None = None) -> tuple[np.ndarray | None, bool]:
    """The blocks of ``frame``'s aligned-check grid (a or b; a boolean mask) that a's picture fills in b, when another
    picture lies beyond them inside the overlap across a straight seam, else None; and whether a seam it refused is
    the edge of a part both share (_seam_kind).

    A collage cell is cover-cropped, and a meme's caption bars and keystone fill border the picture: a's frame
    reaches beyond the part of b that shows it, across a seam along the rows or columns. On each side of the
    inliers' box the seam is placed where the aligned luminance stops agreeing: of the block lines (columns, rows)
    from the box outward, the run kept is the one whose agreeing share, minus SEAM_AGREEMENT, sums the most. What
    lies beyond is another picture only when it holds at least MIN_FOREIGN_KEYPOINTS of b's keypoints, almost none
    of them (under FOREIGN_MATCHED) with any correspondence in a, and under FOREIGN_STRUCTURE of its blocks keep a's
    structure: a recolour keeps the structure, a parallax or a shared scene leaves correspondences. Nor where
    neither picture goes on across the seam (_seam_kind): a strip both share, not a picture in a cell. The inliers
    may sit in a small part of the cell (a texture-poor cell, corners ORB found at another scale): the seam, not the
    inliers, bounds what is judged. (Designs of one series sharing an element look the same around it: the cell must
    cover MIN_BOX_SHARE of a.) (``aligned``: as for _block_agreement, of the frame's grid.)"""
    in_a = _project(inverse, points_b)
    inside = (in_a[:, 0] >= 0) & (in_a[:, 0] < a.width) & (in_a[:, 1] >= 0) & (in_a[:, 1] < a.height)
    if frame is b:
        to_frame, other, points, inliers = transform, a, points_b, inliers_b
    else:
        to_frame, other, points, inliers = inverse, b, in_a, _project(inverse, inliers_b)
    agree, same_structure, _, valid, _, _ = _block_agreement(to_frame, other, frame, aligned=aligned)
    if valid.sum() < 4:
        return None, False
    n = LUMA_SIDE // LUMA_BLOCK
    agreeing, structured = np.zeros((n, n)), np.zeros((n, n))
    agreeing[valid], structured[valid] = agree, same_structure
    size = np.array([frame.width, frame.height], float) / n  # a block, in working-image pixels
    first = np.clip(np.floor(inliers.min(axis=0) / size).astype(int), 0, n - 1)
    last = np.clip(np.floor(inliers.max(axis=0) / size).astype(int), 0, n - 1)
    block_of = np.clip((points / size).astype(int), 0, n - 1)
    low, high = np.zeros(2, int), np.full(2, n)  # the cell's block range: columns (axis 0), rows (axis 1)
    shared = False
    for axis in (0, 1):
        line_blocks = valid.sum(axis=axis)  # of each block column (axis 0) or row (axis 1)
        share = agreeing.sum(axis=axis) / np.maximum(line_blocks, 1)
        for outward in (np.arange(first[axis] - 1, -1, -1), np.arange(last[axis] + 1, n)):
            outward = outward[line_blocks[outward] > 0]
            gains = np.r_[0.0, np.cumsum(share[outward] - SEAM_AGREEMENT)]
            kept = len(gains) - 1 - int(np.argmax(gains[::-1]))  # the longest run of the best sum
            if kept == len(outward):
                continue
            lines = outward[kept:]
            beyond = inside & np.isin(block_of[:, axis], lines)
            kept_structure = structured.sum(axis=axis)[lines].sum() / line_blocks[lines].sum()
            if (beyond.sum() < MIN_FOREIGN_KEYPOINTS or matched_b[beyond].mean() >= FOREIGN_MATCHED
                    or kept_structure >= FOREIGN_STRUCTURE):
                continue
            outward = -1 if lines[0] < first[axis] else 1
            seam = (lines[0] + 1 if outward < 0 else lines[0]) * size[axis]
            kind = _seam_kind(transform, inverse, a, b, frame, axis, seam, size[axis], outward)
            if kind != "cell":  # both change picture there: a part both share, or both end, not a picture in a cell
                shared |= kind == "shared"
                continue
            if lines[0] < first[axis]:
                low[axis] = lines[0] + 1
            else:
                high[axis] = lines[0]
    if (low == 0).all() and (high == n).all():
        return None, shared
    corners = np.array([[low[0], low[1]], [high[0], low[1]], [high[0], high[1]], [low[0], high[1]]]) * size
    corners_a = np.clip(corners if frame is a else _project(inverse, corners), 0, [a.width, a.height])
    if np.prod(corners_a.max(axis=0) - corners_a.min(axis=0)) < MIN_BOX_SHARE * a.width * a.height:
        return None, shared
    cell = np.zeros((n, n), bool)
    cell[low[1]:high[1], low[0]:high[0]] = True
    cell &= valid
    return (cell, shared) if cell.sum() >= MIN_REGION_BLOCKS else (None, shared)


def _seam_kind(transform: np.ndarray, inverse: np.ndarray, a: ImageFingerprint, b: ImageFingerprint,
               frame: ImageFingerprint, axis: int, seam: float, block: float, outward: int) -> str:
    """What b's seam is, the line at ``seam`` (working pixels of ``frame``, a or b, within a block of b's seam) across
    ``axis`` (0: a column, 1: a row), the cell on the side away from ``outward`` (+1, -1): "cell" where one of the two
    pictures goes on across it (both: where both show texture beyond it), "shared" where neither does and both show
    texture beyond it, or where both do and one shows plain ground beyond it, "ends" where neither does and one of them
    shows plain ground beyond it (SEAM_FLAT: a design's or a product's ground, fill; it ends there). Plain ground has
    no line to correlate, so it "goes on" wherever no edge runs along the seam (round seam21): a black sky above the
    irregular outline of a foreground two space pictures of one series share, where the other's sky, lit down to it,
    goes on; neither picture is cut there, so the foreground is a part they share, not a collage cell.
    A collage cell or a meme's picture is a whole picture, or a crop of it, that the composite's seam cuts: the
    picture itself goes on across it, whichever of the two it is (round seam20: a pair is judged in one order, the
    composite may be a). Two composites sharing a strip of a third picture (one foreground over different skies) both
    change picture along the strip's edge: a part they share, not one inside the other.

    Both luminance thumbnails are sampled on lines parallel to the seam, a thumbnail pixel of the frame apart, within
    1.5 blocks of it. The pictures part at the first line, going outward, along which their luminance no longer
    correlates (under SEAM_AGREEMENT); the seam lies across one of the SEAM_LAG lines up to that one (it falls between
    pixels, and the line past it still mixes both pictures). A picture goes on across it when its own lines beside
    each of those (two apart) correlate at SEAM_CONTINUITY at least, and no straight edge runs along it: its step
    across one of them (the median absolute difference of the lines beside it) is not both its largest within the
    window and over SEAM_STEP times the median of its steps beyond (a photo's own edges wander, come and go). A
    composite's lines either side of the seam show two pictures: they hardly correlate. (Where a picture's own lines
    before the seam correlate under SEAM_CONTINUITY in the median, a fine texture, that tells nothing: the step
    decides alone.)"""
    along = 1 - axis
    extent = (frame.width, frame.height)
    step = extent[axis] / LUMA_SIDE
    offsets = outward * np.arange(-1.5 * block, 1.5 * block + step / 2, step)
    points = np.empty((len(offsets), SEAM_SAMPLES, 2))
    points[..., axis] = seam + offsets[:, None]
    points[..., along] = np.linspace(0.05, 0.95, SEAM_SAMPLES) * extent[along]
    profiles, inside = [], np.ones(SEAM_SAMPLES, bool)
    for picture, to_picture in ((a, inverse), (b, transform)):
        mapped = points if picture is frame else _project(to_picture, points.reshape(-1, 2)).reshape(points.shape)
        thumb, in_picture = _thumb_points(picture, mapped)
        inside &= in_picture
        profiles.append(_sample_thumb(_luma(picture), thumb))
    if inside.sum() < SEAM_SAMPLES // 4:
        return "cell"  # the seam lies beyond a's picture
    line_a, line_b = (profile[:, inside] for profile in profiles)
    apart = np.flatnonzero(_line_correlation(line_a, line_b) < SEAM_AGREEMENT)
    if len(apart) == 0 or apart[0] <= SEAM_LAG or apart[0] + 3 >= len(offsets):
        return "cell"  # no line of the window where b stops showing a, or no lines beyond it
    seam_lines = np.arange(apart[0] - SEAM_LAG + 1, apart[0] + 1)  # the lines the seam may cross

    def goes_on(lines: np.ndarray) -> tuple[bool, bool]:  # (goes on, shows texture beyond)
        continuity = _line_correlation(lines[:-2], lines[2:])  # [k]: across line k + 1
        steps = np.median(np.abs(lines[2:] - lines[:-2]), axis=1)
        at_seam, beyond = steps[seam_lines - 1].max(), np.median(steps[apart[0]:])
        edge = at_seam >= np.delete(steps, seam_lines - 1).max() and at_seam > SEAM_STEP * (beyond + 1.0)
        return bool(not edge and (continuity[seam_lines - 1].min() >= SEAM_CONTINUITY
                                  or np.median(continuity[:seam_lines[0] - 1]) < SEAM_CONTINUITY)), beyond >= SEAM_FLAT

    (a_goes_on, a_textured), (b_goes_on, b_textured) = goes_on(line_a), goes_on(line_b)
    if a_goes_on != b_goes_on or (a_goes_on and a_textured and b_textured):
        return "cell"
    return "shared" if a_goes_on or (a_textured and b_textured) else "ends"


def _line_correlation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The correlation of each line (row) of ``x`` with the same row of ``y``, a spread of one grey level at least."""
    x, y = x - _mean(x, 1)[:, None], y - _mean(y, 1)[:, None]
    return _mean(x * y, 1) / np.maximum(np.sqrt(_mean(x ** 2, 1) * _mean(y ** 2, 1)), 1.0)


def _shared_pattern(inverse: np.ndarray, inliers_b: np.ndarray, a: ImageFingerprint, b: ImageFingerprint) -> bool:
    """Do most inliers (PATTERN_SHARE) lie on flat ground of both pictures (_low_pass_detail under FLAT_GROUND)? The
    keypoints there are an added pattern's (noise, grain, a texture, a tiled watermark), which two different pictures
    may share at the same place (AugLy's noise has one seed): they attest the pattern, not the picture beneath. A copy's
    inliers lie on its content, where the original has its corners too."""
    flat = ((_low_pass_detail(a, _project(inverse, inliers_b)) < FLAT_GROUND)
            & (_low_pass_detail(b, inliers_b) < FLAT_GROUND))
    return bool(flat.mean() >= PATTERN_SHARE)


def _tiled_pattern(a: ImageFingerprint, b: ImageFingerprint, inlier_pairs: np.ndarray) -> bool:
    """Are most inliers (TILED_SHARE, and TILED_REPEATS at least; ``inlier_pairs``: a's and b's keypoint indices)
    repeated glyphs in both pictures (ImageFingerprint.repeated)? Two pictures under one tiled watermark correspond on
    its repeats, at the same places; a copy under it has it in one picture only, and the other's inliers are its own
    corners, seldom repeated in a photo (a design's may be: see TILED_SHARE)."""
    needed = max(TILED_REPEATS, TILED_SHARE * len(inlier_pairs))
    if len(inlier_pairs) < needed:  # (most fits of unrelated pictures: a few inliers, nothing looked up)
        return False
    repeated = a.repeated.take(inlier_pairs[:, 0]) & b.repeated.take(inlier_pairs[:, 1])
    return int(repeated.sum()) >= needed


def _low_pass_detail(fingerprint: ImageFingerprint, points: np.ndarray) -> np.ndarray:
    """ImageFingerprint.low_pass_detail at each working-image point."""
    return _sample_thumb(fingerprint.low_pass_detail, _thumb_points(fingerprint, points[None])[0])[0]


def _content_agreement(transform: np.ndarray, a: ImageFingerprint, b: ImageFingerprint,
                       cell: np.ndarray | None = None) -> float:
    """The aligned luminance agreement (_block_agreement, within ``cell`` if given) over the blocks where either
    picture has detail: two different designs under one pattern agree on their flat ground, not on their content (1
    where neither has any)."""
    blocks = _block_agreement(transform, a, b, cell)
    agree, detailed = blocks[0], blocks[5]
    return float(agree[detailed].mean()) if detailed.any() else 1.0


def _pattern_content_agreement(transform: np.ndarray, a: ImageFingerprint, b: ImageFingerprint,
                               cell: np.ndarray | None = None) -> float:
    """_content_agreement where the keypoints attest a pattern both pictures carry (_shared_pattern, _tiled_pattern),
    the better of a's luminance and of a's under the turn of all hues that takes its colours to b's (_hue_turned): a
    hue turn changes each colour's luminance its own way, which no gain and offset undo (a design's own repeated
    corners fire _tiled_pattern), while two pictures under one pattern differ beyond a turn of their hues."""
    agreement, turned = _content_agreement(transform, a, b, cell), _hue_turned(transform, a, b, cell)
    return agreement if turned is a else max(agreement, _content_agreement(transform, turned, b, cell))


def _hue_turned(transform: np.ndarray, a: ImageFingerprint, b: ImageFingerprint,
                cell: np.ndarray | None = None) -> ImageFingerprint:
    """a with its luminance thumbnail shifted by what the colour check's turn of all hues (_hue_turn, fitted to a's
    aligned colours and b's, within ``cell`` if given) changes of each colour's luminance; a itself where no turn
    takes its colours to b's."""
    colour_a, valid = _warp(_colour(a), _thumb_transform(transform, a, b, COLOUR_SIDE), COLOUR_SIDE, cell)
    turn = _hue_turn(_rows(colour_a, valid) / 255.0, _rows(_colour(b), valid) / 255.0) if valid.any() else None
    if turn is None:
        return a
    own = _colour(a).reshape(-1, 3)
    shift = ((turn(own / 255.0) * 255.0 - own) @ LUMA_WEIGHTS).reshape(COLOUR_SIDE, COLOUR_SIDE)
    luma = _luma(a) + cv2.resize(shift.astype(np.float32), (LUMA_SIDE, LUMA_SIDE), interpolation=cv2.INTER_LINEAR)
    return dataclasses.replace(a, luma=np.clip(luma, 0, 255).round().astype(np.uint8).tobytes())


def _inlier_coverage(inverse: np.ndarray, points_b, inliers_b, a, b) -> float:
    """Of the cells of a COVERAGE_GRID over b that hold keypoints inside the overlap, the fraction holding an
    inlier: a copy has inliers all over (but under an overlay), a shared template only where it is shared."""
    in_a = _project(inverse, points_b)
    inside = (in_a[:, 0] >= 0) & (in_a[:, 0] < a.width) & (in_a[:, 1] >= 0) & (in_a[:, 1] < a.height)

    def cells(points):
        column = np.minimum(points[:, 0] * COVERAGE_GRID // b.width, COVERAGE_GRID - 1)
        row = np.minimum(points[:, 1] * COVERAGE_GRID // b.height, COVERAGE_GRID - 1)
        return np.unique((row * COVERAGE_GRID + column).astype(int))

    candidates = cells(points_b[inside])
    return len(np.intersect1d(cells(inliers_b), candidates, assume_unique=True)) / max(1, len(candidates))


def _matched_levels(luma_a: np.ndarray, luma_b: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """a's luminance mapped onto b's by the gain and offset that fit most of the overlap (refitted without the
    worst-fitting third, so an overlay or a sticker does not skew it), both centred and in units of b's spread."""
    x, y = luma_a[valid], luma_b[valid]
    keep = np.ones(len(x), bool)
    for _ in range(2):
        xk, yk = x[keep], y[keep]
        variance = xk.var()
        mean_x, mean_y = _mean(xk, 0), _mean(yk, 0)
        gain = max(float(_mean((xk - mean_x) * (yk - mean_y), 0) / variance), 0.1) if variance > 1.0 else 1.0
        offset = mean_y - gain * mean_x  # (a gain near 0 or below would fit an inverted picture: no edit)
        error = np.abs(gain * x + offset - y)
        keep = error <= _quantile(error, 0.67)
    centre, spread = _mean(y[keep], 0), max(y.std(), 4.0)
    return (gain * luma_a + offset - centre) / spread, (luma_b - centre) / spread


def _best_fit(a: ImageFingerprint, b: ImageFingerprint, distance: int, pairs: np.ndarray,
              consensus_check_max: int = CONSENSUS_CHECK_MAX, hypothesis: np.ndarray | None = None) -> Evidence:
    """verify()'s fits of these correspondences (a's upright and mirrored descriptors, stacked, to b's), upright
    and with a mirror, the better kept; RANSAC only where _may_reach_inliers (up to ``consensus_check_max``
    correspondences) does not rule it out. With a ``hypothesis`` (a's whole picture in b, _same_picture) the
    correspondences are a's keypoints at their places under it (_same_picture_correspondences), all of them its
    inliers: nothing is fitted, and SAME_PICTURE_SUPPORT of them verify it wherever they lie (the transform comes from
    the two frames, not from them, so a few at their places are no chance fit; the pictures' own checks judge it)."""
    points_a, points_b = a.keypoints, b.keypoints
    best = _unverified(distance)
    upright = pairs[:, 0] < len(a.descriptors) // 32
    # (compress() and take() rather than indexing: numpy's indexing of rows this narrow costs several times as much)
    mirrored_pairs = pairs.compress(~upright, axis=0)  # (a's mirrored descriptors counted from 0, as its keypoints)
    mirrored_pairs[:, 0] -= len(a.descriptors) // 32
    # (a's points mirrored, and the mirror's matrix, only for a mirrored set that is fitted: most are too small)
    for is_mirrored, pairs in ((False, pairs.compress(upright, axis=0)), (True, mirrored_pairs)):
        if len(pairs) < (MIN_INLIERS if hypothesis is None else SAME_PICTURE_SUPPORT):
            continue
        source, target = points_a.take(pairs[:, 0], axis=0), points_b.take(pairs[:, 1], axis=0)
        if is_mirrored:  # a's keypoints in its mirror image
            source = _mirrored(source, a.width)
        if hypothesis is not None:  # (only upright pairs: _same_picture_correspondences)
            transform, inliers = hypothesis, np.ones(len(pairs), bool)
        else:
            if not _may_reach_inliers(source, target, consensus_check_max):
                continue  # no similarity explains MIN_INLIERS of them: RANSAC would find none (chance correspondences)
            transform, inliers = _fit_transform(source, target)
            if transform is None or inliers.sum() < MIN_INLIERS:
                continue
        scale = math.sqrt(abs(np.linalg.det(transform[:2, :2])))
        inlier_source, inlier_target = source.compress(inliers, axis=0), target.compress(inliers, axis=0)
        if hypothesis is None and (not MIN_SCALE <= scale <= MAX_SCALE or min(
                _occupied_cells(inlier_source), _occupied_cells(inlier_target)) < MIN_INLIER_CELLS):
            continue
        fitted = transform  # of source (a's mirrored points when mirrored) to target
        if is_mirrored:  # express the transform on a's upright frame: x -> mirror(x) -> transform
            transform = transform @ _mirror(a.width)
        of_b, of_a, region = _overlap(transform, a, b)
        containment = max(of_a, of_b)
        if containment < MIN_CONTAINMENT:
            continue
        inverse = np.linalg.inv(transform)
        in_a = _project(inverse, target)
        in_overlap = (in_a[:, 0] >= 0) & (in_a[:, 0] < a.width) & (in_a[:, 1] >= 0) & (in_a[:, 1] < a.height)
        # (The blocks of each grid, a's warped onto b's and b's onto a's, computed once for the checks.)
        on_b, on_a = _aligned_blocks(transform, a, b), None
        # Compared in the frame of the image shown smaller, where both thumbnails have detail; but in a's where a's
        # picture fills too few of b's blocks to judge (_aligned_blocks: a small collage cell, a third of b's side
        # or less, spans two or three of them, and a seam inside one leaves under 4 whole): nothing judged there is
        # no disagreement.
        frame, other, to_frame = (b, a, transform) if scale <= 1.0 and on_b[1] is not None else (a, b, inverse)
        matched_b = np.zeros(len(points_b), bool)  # b's keypoints with any correspondence
        matched_b[pairs[:, 1]] = True
        # Where another picture borders the match, both checks keep to the cell, found on b's grid (a collage cell
        # spans whole blocks of b, while a's blocks straddle its seam), else on the frame's (where b's band along
        # a's edge, the next cell or a caption bar, fills whole blocks of a).
        cell_grid, (cell, shared) = b, _cell(transform, inverse, points_b, inlier_target, matched_b, a, b, b, on_b)
        if cell is None and frame is a:
            on_a = _aligned_blocks(inverse, b, a)
            cell_grid, (cell, shared_on_a) = a, _cell(transform, inverse, points_b, inlier_target, matched_b, a, b,
                                                      a, on_a)
            shared |= shared_on_a
        if cell is None:
            checked = to_frame, other, frame, None  # (the frame and cell the luminance agreement is judged in)
            agreement, covered, recoloured, element = _aligned_agreement(*checked, inset=frame is b,
                                                                         aligned=on_b if frame is b else on_a)
            if frame is a:  # (b's caption bars or a keystone's fill may band a's edges: b's frame leaves them out)
                on_b_grid = _luminance_agreement(transform, a, b, on_b)
                if on_b_grid[0] > agreement:
                    (agreement, covered), checked = on_b_grid, (transform, a, b, None)
            if shared:  # beyond a part both share, each shows another picture: no overlay covers one of them there,
                covered = 0.0  # and flat ground (a night sky) agrees with any of its level: the content must agree
                agreement = min(agreement, _content_agreement(*checked))
        else:
            checked = (transform, a, b, cell) if cell_grid is b else (inverse, b, a, cell)
            agreement, covered, recoloured, element = _aligned_agreement(*checked, inset=cell_grid is b)
        if _shared_pattern(inverse, inlier_target, a, b) or _tiled_pattern(a, b, pairs.compress(inliers, axis=0)):
            agreement = min(agreement, _pattern_content_agreement(*checked))  # the keypoints attest a pattern
        # (The hypothesis' correspondences were looked for up to SAME_PICTURE_RADIUS from their places, beyond
        # PARALLAX_TOLERANCE: a few of its chance ones there fit some similarity of their own, which is no near layer.)
        layer = np.zeros(len(source), bool) if hypothesis is not None else _second_layer(fitted, source, target,
                                                                                          in_overlap)
        second = int(layer.sum())
        candidate = Evidence(
            distance, inliers=int(inliers.sum()), agreement=agreement, covered=covered,
            parallax=float(second / inliers.sum()), second_layer=second,
            near_layer=_near_layer(fitted, source, target, inliers, layer),
            coherent_residual=_plane_coherent_residual(fitted, inlier_source, inlier_target),
            scene_goes_on=cell is None and _scene_goes_on(transform, inverse, a, b),  # (a cell: one holds the other)
            coverage=_inlier_coverage(inverse, points_b, inlier_target, a, b), containment=containment,
            inlier_ratio=float(inliers.sum() / max(1, in_overlap.sum())), recoloured=recoloured,
            recoloured_element=element, mirrored=is_mirrored,
            region=_box(region, b), region_of_b=_box(_project(inverse, _frame(b.width, b.height)), a))
        if not best.verified or ((candidate.agreement, -candidate.recoloured, candidate.inliers)
                                 > (best.agreement, -best.recoloured, best.inliers)):
            best = candidate
    return best


def _box(polygon: np.ndarray, fingerprint: ImageFingerprint) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of ``polygon`` (points in ``fingerprint``'s working image), fractions of its size."""
    size = [fingerprint.width, fingerprint.height]
    return tuple(round(float(v), 3) for v in (*polygon.min(axis=0) / size, *polygon.max(axis=0) / size))


def verify(a: ImageFingerprint, b: ImageFingerprint, distance: int, orientation: int,
           colour_check: bool = True) -> Evidence:
    """_verify() of the pair in the order it is judged in (_judged_in_order), the regions as of (a, b): the evidence
    of (a, b) and of (b, a) is the same but for the regions, swapped."""
    if _judged_in_order(a, b):
        return _verify(a, b, distance, orientation, colour_check)
    evidence = _verify(b, a, distance, _INVERSE_ORIENTATION[orientation], colour_check)
    return dataclasses.replace(evidence, region=evidence.region_of_b, region_of_b=evidence.region)


def _verify(a: ImageFingerprint, b: ImageFingerprint, distance: int, orientation: int,
            colour_check: bool = True) -> Evidence:
    """Keypoint verification (correspondences by the ratio test; where those verify nothing, mutual nearest
    descriptors too: _correspondences; where those do not either and the hashes are too far apart to accept, a's
    keypoints at their places in b if b may show a's whole picture: _same_picture_correspondences; where nothing
    verifies that either, for a picture of little detail, each descriptor's look-alikes: _with_look_alikes), upright
    and with a mirror; the better-agreeing transform is kept (on a tie, the
    one leaving less recoloured: a symmetric design, turned, also fits a mirror that misplaces its inner parts, or
    the other way round; then the one with more inliers: a flat design's blocks agree under a fit that misplaces
    half of it as under its own). ``distance`` and ``orientation``: the pair's hash_match(). When nothing verifies, the
    evidence carries the whole-image colour change in that orientation too (the hash score weighs it; a verified
    score does not), unless ``colour_check`` is off (a pair whose hashes are too far apart to accept is scored
    without it)."""
    descriptors_b = np.frombuffer(b.descriptors, np.uint8).reshape(-1, 32)
    queries = np.vstack([np.frombuffer(a.descriptors, np.uint8).reshape(-1, 32),
                         np.frombuffer(a.mirrored, np.uint8).reshape(-1, 32)])
    upright = len(a.descriptors) // 32
    ratio_pairs, with_mutual, distances = _correspondences(queries, descriptors_b, upright, b.keypoints)
    best = _best_fit(a, b, distance, ratio_pairs)
    if not best.verified:  # the ratio test left too little: with the mutual nearest descriptors too
        pairs = with_mutual()
        if len(pairs) > len(ratio_pairs):
            best = _best_fit(a, b, distance, pairs, FALLBACK_CONSENSUS_CHECK_MAX)
        transform = None if best.verified or distance <= ACCEPT_DISTANCE else _same_picture(a, b, pairs)
        if transform is not None:  # only keypoints can match this pair, and b may show a's whole picture
            at_places = _same_picture_correspondences(a, b, transform)
            best = _best_fit(a, b, distance, at_places, FALLBACK_CONSENSUS_CHECK_MAX)
            if not best.verified:  # too few, or too bunched, for a fit of their own: the hypothesis itself
                best = _best_fit(a, b, distance, at_places, hypothesis=transform)
        if not best.verified and distance > ACCEPT_DISTANCE and a.detail < LOOK_ALIKE_DETAIL \
                and a.keypoint_geometry is not None and b.keypoint_geometry is not None:
            best = _with_look_alikes(a, b, distance, pairs, distances, best)
    if best.verified or not colour_check:
        return best
    whole = colour_change(_colour(a), _orient(_colour(b), orientation), np.ones((COLOUR_SIDE, COLOUR_SIDE), bool))
    return dataclasses.replace(best, hash_colour_change=whole)


def _with_look_alikes(a: ImageFingerprint, b: ImageFingerprint, distance: int, pairs: np.ndarray,
                      distances: np.ndarray, unverified: Evidence) -> Evidence:
    """verify()'s fit of the ``pairs`` it had (the ratio test's and the mutual nearest) with those of a's and b's
    descriptors that _look_alike_correspondences joins taken out and its own put in their place; ``unverified`` where
    it joins too few. (Those other pairs stay: they are the set the checks of a second motion layer were made for,
    and a copy's second and third nearest would make one of their own.)"""
    chosen = _look_alike_correspondences(a, b, distances)
    if len(chosen) < MIN_INLIERS:
        return unverified
    kept = pairs.compress(~np.isin(pairs[:, 0], chosen[:, 0]) & ~np.isin(pairs[:, 1], chosen[:, 1]), axis=0)
    joined = np.concatenate([kept, chosen])
    return _best_fit(a, b, distance, joined.take(joined[:, 0].argsort(kind="stable"), axis=0),
                     FALLBACK_CONSENSUS_CHECK_MAX)


# --- score ----------------------------------------------------------------------------------------

def _target_region(region: tuple, frame: tuple) -> tuple[float, float, float, float] | None:
    """``region`` (fractions of the target's working image) as fractions of the whole target, whose working
    image is the ``frame`` part of it; None when it leaves no area inside the target."""
    left, top, right, bottom = frame
    x = [min(max(left + v * (right - left), 0.0), 1.0) for v in region[0::2]]
    y = [min(max(top + v * (bottom - top), 0.0), 1.0) for v in region[1::2]]
    return (x[0], y[0], x[1], y[1]) if x[0] < x[1] and y[0] < y[1] else None


def _logistic(features, weights: tuple[float, ...]) -> float:
    z = float(np.dot(weights[:-1], features)) + weights[-1]
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def hash_features(evidence: Evidence) -> tuple[float, float]:
    return evidence.hash_distance / 256.0, evidence.hash_colour_change


def verify_features(evidence: Evidence) -> tuple[float, ...]:
    """The verification evidence the calibrated score weighs: the aligned check (the blocks an overlay covers left
    out), the inliers' coverage, how much of one image the overlap holds, how tight the fit is, the local colour
    change and a second motion layer. (Not the hash: the pairs it finds close are copies or recolours alike, those
    it finds far are crops or insets.)"""
    return (uncovered_agreement(evidence), evidence.coverage, evidence.containment, evidence.inlier_ratio,
            evidence.recoloured, parallax_feature(evidence))


def uncovered_agreement(evidence: Evidence) -> float:
    """The aligned check's agreement over the blocks no overlay covers (_covered_share): a caption, a sticker or a
    logo over a copy does not weigh as another capture of the scene does. (verify() chooses between the upright and
    the mirrored fit by the agreement itself: leaving blocks out would favour a fit that misplaces the picture.)"""
    return evidence.agreement / (1.0 - evidence.covered)


def parallax_feature(evidence: Evidence) -> float:
    """The second motion layer's weight: its share of the first layer's inliers, or its size against
    PARALLAX_POINTS when that is larger (a richly textured first layer dwarfs a near layer's few points), or the
    inliers' coherent residual against COHERENT_PARALLAX when that is larger (a near layer moving within the RANSAC
    tolerance, among the first layer's inliers); in full where each picture shows the scene going on beyond the
    other's frame (_scene_goes_on: another capture, whatever its layers), or where the second layer is a region of the
    picture of its own, moved well beyond the first layer's fit (_near_layer: another capture's near layer)."""
    if evidence.scene_goes_on or evidence.near_layer:
        return 1.0
    return max(evidence.parallax, min(1.0, evidence.second_layer / PARALLAX_POINTS),
               min(1.0, evidence.coherent_residual / COHERENT_PARALLAX))


def score(evidence: Evidence, trusted_hashes: bool = True) -> float:
    """The calibrated probability that the pair is a duplicate: from all the evidence when the keypoints
    verified a transform, else from the hashes alone, which only ever accept clear duplicates."""
    if evidence.verified:  # (an element of the picture in another colour: no copy, whatever its size; issue 13)
        verified_score = _logistic(verify_features(evidence), VERIFY_LOGIT)
        return min(verified_score, 0.49) if evidence.recoloured_element else verified_score
    hash_score = _logistic(hash_features(evidence), HASH_LOGIT) if trusted_hashes else 0.0
    return hash_score if evidence.hash_distance <= ACCEPT_DISTANCE else min(hash_score, 0.49)


def _confidence(similarity: float) -> str:
    margin = abs(similarity - 0.5)
    return "high" if margin >= HIGH_MARGIN else "medium" if margin >= MEDIUM_MARGIN else "low"


# --- index keys for candidate generation (catalog dedupe) ---------------------------------------------

# 32-bit words of the hashes: 16-bit words put every image in buckets that grow with the catalog (the
# quadratic work keys are there to avoid) and found no copy on the dedupe bench that the descriptor keys
# missed; longer words still cover images with too few keypoints, since a copy within a few bits keeps
# some words of every orientation's hash intact.
HASH_WORD = ">u4"
# Four fixed selections of 32 descriptor bits: with fewer bits unrelated pictures share keys by the
# thousand (ORB's bits are far from independent); with fewer selections a crop's descriptors keep too few.
DESCRIPTOR_KEY_BITS = [np.random.default_rng(20261201 + table).choice(256, 32, replace=False) for table in range(4)]
_HASH_KEYS, _CENTRE_KEYS, _DESCRIPTOR_KEYS, _COLOUR_KEYS = (kind << 48 for kind in range(1, 5))


def index_keys(fp: ImageFingerprint) -> list[int]:
    """32-bit words of the whole and central hashes in all 8 orientations (a turned or flipped copy's
    upright hash is one of ours, word for word), and four fixed 32-bit selections of every keypoint
    descriptor, upright and mirrored (crops, copies pasted into other pictures keep many descriptors
    nearly intact). Flat images: their mean colour on two offset 32-level grids, each cell key given
    ``min_shared_keys`` times over (one shared colour cell is all two flat images can have in common)."""
    if fp.low_information:
        colour = np.frombuffer(fp.colour, np.uint8).reshape(-1, 3).mean(axis=0)
        cells = [int.from_bytes(bytes(((colour + 16 * offset) // 32).astype(np.uint8)), "big") for offset in (0, 1)]
        return sorted({_COLOUR_KEYS | copy << 26 | offset << 24 | cell for offset, cell in enumerate(cells)
                       for copy in range(ImageMatcher.min_shared_keys)})
    keys = set()
    for namespace, packed in ((_HASH_KEYS, fp.hashes), (_CENTRE_KEYS, fp.centre_hashes)):
        words = np.frombuffer(packed, HASH_WORD).reshape(8, -1)
        keys.update(namespace | position << 32 | int(word) for (_, position), word in np.ndenumerate(words))
    bits = np.unpackbits(np.frombuffer(fp.descriptors + fp.mirrored, np.uint8).reshape(-1, 32), axis=1)
    for table, selection in enumerate(DESCRIPTOR_KEY_BITS):
        picked = np.ascontiguousarray(np.packbits(bits[:, selection], axis=1)).view(">u4").ravel()
        keys.update(_DESCRIPTOR_KEYS | table << 32 | int(value) for value in picked)
    return sorted(keys)


def _word_matches(a: ImageFingerprint, b: ImageFingerprint) -> tuple[np.ndarray, np.ndarray]:
    """image_sketch.word_matches of a's descriptors, upright then mirrored, in b's upright ones."""
    descriptors_a = np.frombuffer(a.descriptors + a.mirrored, np.uint8).reshape(-1, 32)
    descriptors_b = np.frombuffer(b.descriptors, np.uint8).reshape(-1, 32)
    return word_matches(np.frombuffer(a.descriptor_words, np.uint16), descriptors_a, *b.word_order, descriptors_b)


def _matched_count(in_a: np.ndarray, upright: int) -> int:
    """How many of a's descriptors, upright or (the other count) mirrored, are among ``in_a`` (sorted), the larger
    count: verify() pairs exactly these sets of descriptors. (On Python's lists: a few dozen matches, where each
    numpy call costs more than the work.)"""
    matched = in_a.tolist()
    split = bisect.bisect_left(matched, upright)
    return max(len(set(matched[:split])), len(set(matched[split:])))


def word_match_count(a: ImageFingerprint, b: ImageFingerprint) -> int:
    """How many of a's descriptors, upright or (the other count) mirrored, have a word match in b's upright ones
    (image_sketch.word_matches), the larger count."""
    return _matched_count(_word_matches(a, b)[0], len(a.descriptors) // 32)


def word_matches_agree(a: ImageFingerprint, b: ImageFingerprint, in_a: np.ndarray, in_b: np.ndarray) -> bool:
    """Do two of the word matches (``in_a``, ``in_b``: image_sketch.word_matches) agree on a similarity transform,
    both upright or both mirrored? Each keypoint has its ORB angle and pyramid level, so each match says how far the
    picture turned and (roughly) was scaled, and the line between two matches says it too: a copy's true matches
    agree, where two photos' chance matches point every way (Lowe 2004's Hough vote, for pairs). Two distinct
    keypoints on each side, at least REPROJECTION_PX apart (closer, the line between them has no direction), scaled
    as verify() accepts, turned like each match within TURN_TOLERANCE and scaled like each within LEVEL_TOLERANCE
    pyramid levels. Both tolerances are several times what every keypoint-verified copy of the tuning split needs
    (docs/benchmarks.md, round speed11)."""
    if len(in_a) < 2:
        return False
    mirrored = in_a >= len(a.descriptors) // 32
    (z, angle_a, level_a), (w, angle_b, level_b) = a.match_geometry, b.match_geometry
    z, w = z[in_a], w[in_b]
    turned_back = _TURNED_BACK[angle_b[in_b] - angle_a[in_a]]  # (each match's turn undone)
    level = level_b[in_b] - level_a[in_a]
    i, j = _index_pairs(len(in_a))
    dz, dw = z[j] - z[i], w[j] - w[i]
    # (Two matches of one keypoint of a, or of b, are at no distance on that side: the distance rules them out.)
    candidate = (mirrored[i] == mirrored[j]) & (np.minimum(np.abs(dz), np.abs(dw)) >= REPROJECTION_PX)
    i, j, dz, dw = i[candidate], j[candidate], dz[candidate], dw[candidate]
    gain = dw / dz  # z -> gain * z + shift through both matches
    scale = np.abs(gain)
    levels = np.log(scale) / math.log(ORB_LEVEL_SCALE)
    turned_enough = scale * math.cos(math.radians(TURN_TOLERANCE))
    agree = ((scale >= MIN_SCALE) & (scale <= MAX_SCALE)
             & ((gain * turned_back[i]).real >= turned_enough) & ((gain * turned_back[j]).real >= turned_enough)
             & (np.abs(levels - level[i]) <= LEVEL_TOLERANCE) & (np.abs(levels - level[j]) <= LEVEL_TOLERANCE))
    return bool(agree.any())


def may_verify(a: ImageFingerprint, b: ImageFingerprint) -> bool:
    """The cascade's cheap stages: do the two images have enough word matches for keypoint verification to find
    anything, and do two of them agree on a transform, or one lie at its place if b shows a's whole picture? Or, for a
    flat design, does b show a's whole picture with its blocks' values kept (_whole_picture_values_kept)?
    (Fingerprints made before the words or the keypoints' angles existed are verified without that stage.)"""
    if a.descriptor_words is None or b.descriptor_words is None:
        return True
    if not _judged_in_order(a, b):  # (a's words looked up in b's: the pair's order matters)
        a, b = b, a
    in_a, in_b = _word_matches(a, b)
    if len(in_a) < MIN_WORD_MATCHES or _matched_count(in_a, len(a.descriptors) // 32) < MIN_WORD_MATCHES:
        found = len(in_a) > 0 and _word_matches_at_their_places(a, b, in_a, in_b)  # (else fewer distinct ones too)
    else:
        found = (a.keypoint_geometry is None or b.keypoint_geometry is None or len(in_a) > AGREEMENT_CHECK_MAX
                 or word_matches_agree(a, b, in_a, in_b) or _word_matches_at_their_places(a, b, in_a, in_b))
    return found or ((a.few_colours or b.few_colours) and _whole_picture_values_kept(a, b))


def _whole_picture_values_kept(a: ImageFingerprint, b: ImageFingerprint) -> bool:
    """Does b show a's whole picture (_whole_picture) with the values of SAME_PICTURE_ALL_UNCHANGED of its blocks kept
    (_values_kept)? The word stage's gate, for a flat design (few_colours), where its words tell nothing (round
    art28): heavy letters or a dense mark leave a design's few corners no word match at its place, while verify()
    finds the copy on a's keypoints at their places (_same_picture), whose own first condition this is. An unrelated
    pair of one shape keeps the values of far fewer blocks (round art27: at most 0.69 of photos', 0.86 of generated
    pictures'). Only for a flat design: a photo's texture leaves its copies words enough, and the check, some 0.03 ms,
    would make the word stage's rejections of unrelated photos a tenth dearer (verify_ab --split none: 1.12)."""
    transform = _whole_picture(a, b)
    return transform is not None and _values_kept(transform, a, b) >= SAME_PICTURE_ALL_UNCHANGED


def _word_matches_at_their_places(a: ImageFingerprint, b: ImageFingerprint, in_a: np.ndarray,
                                  in_b: np.ndarray) -> bool:
    """Do MIN_WORDS_AT_PLACES of the word matches join keypoints at their places if b shows a's whole picture
    (_whole_picture)? The word stage's counterpart of _same_picture's support: a tiled watermark's letters cross a
    design's corners, whose word matches left are then few or agree on no transform by their ORB angles and levels,
    while at their places they point to the hypothesis verify() tries last."""
    transform = _whole_picture(a, b)
    return transform is not None and _at_their_places(transform, a, b, in_a, in_b) >= MIN_WORDS_AT_PLACES


CASCADE = True  # False: every pair verified and scored in full (the code before the cascade, for the benchmarks)


def _comparison(similarity: float, trusted_hashes: bool, region: tuple | None = None,
                recoloured: float = 0.0) -> Comparison:
    """The comparison of a pair of this ``similarity`` (a match from 0.5), ``region`` where a match was located,
    ``recoloured`` the share of the picture whose colours differ (Evidence.recoloured)."""
    confidence = _confidence(similarity)
    if not trusted_hashes and confidence == "high":
        confidence = "medium"  # the hash of one side is weak: rest on it and the keypoints less surely
    match = similarity >= 0.5
    if match and confidence == "high" and recoloured >= UNSURE_RECOLOURED:
        confidence = "medium"  # a part in other colours: a copy's overlay, or a colour variant, which is no copy
    return Comparison(match=match, similarity_score=round(similarity, 4), confidence=confidence, region=region)


def _rejected_similarity(distance: int, trusted_hashes: bool) -> float:
    """The similarity of a pair whose hashes are too far apart to accept and whose keypoints verify nothing."""
    return rejected_score(distance) if trusted_hashes else 0.0


@functools.lru_cache(maxsize=None, typed=True)
def _rejected(distance: int, trusted_hashes: bool) -> Comparison:
    """The comparison of a pair the word stage stops (_rejected_similarity, never a match), made once per hash distance
    and trust and shared (it is frozen): most of a catalog's compares end here, where making it cost several us."""
    return _comparison(_rejected_similarity(distance, trusted_hashes), trusted_hashes)


class ImageMatcher(Matcher):
    media_type = "image"
    min_shared_keys = 3  # with the keys above: 0.998 of all-pairs matches at 7 candidates per image (bench/dedupe.py)

    def index_keys(self, fingerprint: ImageFingerprint) -> list[int]:
        return index_keys(fingerprint)

    def fingerprint(self, blob: Blob, limits: Limits) -> ImageFingerprint:
        return fingerprint_image(decode_image(blob, limits))

    def compare(self, a: ImageFingerprint, b: ImageFingerprint) -> Comparison:
        return self._judge(a, b)[0]

    def compare_both_orders(self, a: ImageFingerprint, b: ImageFingerprint) -> tuple[Comparison, Comparison]:
        # verify() judges a pair in one order (_judged_in_order) and gives both orders' regions; only a pair whose
        # order is a tie (the same picture's fingerprints) is compared twice, each order's region its own
        if _judged_in_order(a, b) and _judged_in_order(b, a):
            return super().compare_both_orders(a, b)
        comparison, evidence = self._judge(a, b)
        region = (_target_region(evidence.region_of_b, a.frame)
                  if evidence is not None and comparison.match and evidence.verified else None)
        return comparison, comparison.swapped(region)

    def _judge(self, a: ImageFingerprint, b: ImageFingerprint) -> tuple[Comparison, Evidence | None]:
        """compare(a, b) and the keypoint evidence it rests on (None for low-information images)."""
        if a.low_information or b.low_information:
            return self._compare_low_information(a, b), None
        trusted_hashes = min(a.quality, b.quality) >= MIN_QUALITY
        distance, orientation = hash_match(a, b)
        if distance <= ACCEPT_DISTANCE or not CASCADE:
            evidence = verify(a, b, distance, orientation)
            # A weak hash (a flat design's, quality under MIN_QUALITY) still tells a near-exact copy within
            # ACCEPT_DISTANCE; only one of quality 0 (an empty DCT band) is noise.
            similarity = score(evidence, min(a.quality, b.quality) > 0)
        else:  # only verified keypoints can match this pair: the word stage first, no colour check if they fail
            if not may_verify(a, b):
                return _rejected(distance, trusted_hashes), _unverified(distance)
            evidence = verify(a, b, distance, orientation, colour_check=False)
            similarity = score(evidence) if evidence.verified else _rejected_similarity(distance, trusted_hashes)
        region = _target_region(evidence.region, b.frame) if similarity >= 0.5 and evidence.verified else None
        return _comparison(similarity, trusted_hashes, region, evidence.recoloured), evidence

    @staticmethod
    def _compare_low_information(a: ImageFingerprint, b: ImageFingerprint) -> Comparison:
        """Flat or two-tone images: hashes are noise, so only near-identical colour layouts match, never surely."""
        if not (a.low_information and b.low_information):  # one flat, one detailed: not the same image
            return Comparison(match=False, similarity_score=0.0, confidence="low")
        difference = np.abs(_colour_layout(a) - _colour_layout(b)).mean()
        same = difference <= THUMB_TOLERANCE
        similarity = max(0.0, 1.0 - difference / 64.0)
        return Comparison(match=same, similarity_score=round(similarity if same else min(similarity, 0.49), 4),
                          confidence="low")


MATCHER = ImageMatcher()
