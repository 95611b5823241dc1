"""Entity names and groups, the fields QBO knows per kind of entity, and field length limits."""

from __future__ import annotations

from decimal import Decimal

from qbo_sandbox import reference_data

# URL segment -> entity name.
ENTITIES = {
    name.lower(): name
    for name in (
        "Customer",
        "Vendor",
        "Employee",
        "Item",
        "Account",
        "Term",
        "Class",
        "Department",
        "TaxCode",
        "PaymentMethod",
        "Invoice",
        "Payment",
        "CreditMemo",
        "Bill",
        "BillPayment",
        "VendorCredit",
        "Preferences",
        "CompanyInfo",
        "TaxRate",
        "TaxAgency",
        "CompanyCurrency",
        "ExchangeRate",
        "Attachable",
    )
}
PEOPLE = ("Customer", "Vendor", "Employee")
NAME_LISTS = (
    *PEOPLE,
    "Item",
    "Account",
    "Term",
    "Class",
    "Department",
    "TaxCode",
    "PaymentMethod",
    "TaxRate",
    "TaxAgency",
    "CompanyCurrency",
)
TRANSACTIONS = ("Invoice", "Payment", "CreditMemo")
SALES_FORMS = ("Invoice", "CreditMemo")
# Accounts payable: bills and vendor credits carry expense lines; a bill payment pays bills with credits.
PAYABLES = ("Bill", "BillPayment", "VendorCredit")
EXPENSE_FORMS = ("Bill", "VendorCredit")
PAY_TYPES = {"Check": "CheckPayment", "CreditCard": "CreditCardPayment"}
# What a paid bill's LinkedTxn names its payment (D-BILL sample: "BillPaymentCheck"; the card form is 3P).
BILL_PAYMENT_TXN_TYPE = {"Check": "BillPaymentCheck", "CreditCard": "BillPaymentCreditCard"}
SINGLETONS = ("Preferences", "CompanyInfo")
READ_ONLY_VIA_API = reference_data.READ_ONLY

# A query without ORDERBY: name lists by name, the rest by Id.
DEFAULT_ORDER = {
    # Customers sort by full name, so a job follows its parent (recorded all/customers: "Doe, Jack" then its
    # job "Jack Doe", "Freeman Sporting Goods" then "0969 Ocean View Road").
    "Customer": "FullyQualifiedName",
    **{entity: "DisplayName" for entity in ("Vendor", "Employee", "TaxAgency")},
    **{entity: "Name" for entity in NAME_LISTS if entity not in (*PEOPLE, "TaxAgency")},
    "ExchangeRate": "SourceCurrencyCode",
}
USD = {"value": "USD", "name": "United States Dollar"}
DELETED_SUFFIX = " (deleted)"
CENT = Decimal("0.01")

# Fields we know, so a truly unknown top-level property gets the real 2010 fault. The sets are generous:
# python-quickbooks sends every attribute of its objects, and those must never be rejected.
COMMON = {"Id", "SyncToken", "MetaData", "domain", "sparse", "status"}
TXN_KNOWN = COMMON | {
    "DocNumber",
    "HomeTotalAmt",
    "TotalAmt",
    "TxnSource",
    "AllowOnlinePayment",
    "RecurringInfo",
    "EmailStatus",
    "AutoDocNumber",
    "TaxFormNum",
    "TxnDate",
    "FOB",
    "ClassRef",
    "AllowOnlineACHPayment",
    "DepositToAccountRef",
    "AllowOnlineCreditCardPayment",
    "CurrencyRef",
    "InvoiceLink",
    "PONumber",
    "ShipDate",
    "PaymentMethodRef",
    "TrackingNum",
    "TxnTaxDetail",
    "CustomerRef",
    "ShipFromAddr",
    "BillAddr",
    "EInvoiceStatus",
    "RecurDataRef",
    "ApplyTaxAfterDiscount",
    "DepartmentRef",
    "SalesRepRef",
    "ExchangeRate",
    "TaxFormType",
    "BillEmailBcc",
    "BillEmailCc",
    "CustomerMemo",
    "TxnStatus",
    "HomeBalance",
    "PrintStatus",
    "DeliveryInfo",
    "FreeFormAddress",
    "AllowIPNPayment",
    "CustomField",
    "TransactionLocationType",
    "LinkedTxn",
    "PrivateNote",
    "ShipMethodRef",
    "PaymentRefNum",
    "Tag",
    "Line",
    "DueDate",
    "Balance",
    "SalesTermRef",
    "ShipAddr",
    "BillEmail",
    "GlobalTaxCalculation",
    "Deposit",
    "TaxExemptionRef",
    "ProjectRef",
    "ARAccountRef",
    "CreditCardPayment",
    "ProcessPayment",
    "UnappliedAmt",
    "RemainingCredit",
    "InvoiceRef",
}
# Bills, vendor credits and bill payments (D-BILL, D-VC, D-BP, python-quickbooks' objects).
PAYABLE_KNOWN = TXN_KNOWN | {
    "VendorRef",
    "APAccountRef",
    "VendorAddr",
    "PayType",
    "CheckPayment",
    "ProcessBillPayment",
    "AttachableRef",
}
NAME_KNOWN = COMMON | {
    "ARAccountRef",
    "Active",
    "AlternatePhone",
    "Balance",
    "BalanceWithJobs",
    "BillAddr",
    "BillWithParent",
    "CompanyName",
    "CurrencyRef",
    "DefaultTaxCodeRef",
    "DisplayName",
    "FamilyName",
    "Fax",
    "FullyQualifiedName",
    "GivenName",
    "IsProject",
    "Job",
    "Level",
    "MiddleName",
    "Mobile",
    "Notes",
    "OpenBalanceDate",
    "ParentRef",
    "PaymentMethodRef",
    "PreferredDeliveryMethod",
    "PrimaryEmailAddr",
    "PrimaryPhone",
    "PrimaryTaxIdentifier",
    "PrintOnCheckName",
    "ResaleNum",
    "SalesTermRef",
    "ShipAddr",
    "Suffix",
    "Taxable",
    "Title",
    "WebAddr",
    "APAccountRef",
    "AcctNum",
    "BillRate",
    "TaxIdentifier",
    "TaxReportingBasis",
    "TermRef",
    "Vendor1099",
    "BillableTime",
    "BirthDate",
    "CostRate",
    "EmailAddress",
    "EmployeeNumber",
    "Gender",
    "HiredDate",
    "Organization",
    "PrimaryAddr",
    "ReleasedDate",
    "SSN",
    "AbatementRate",
    "AssetAccountRef",
    "Description",
    "ExpenseAccountRef",
    "IncomeAccountRef",
    "InvStartDate",
    "ItemCategoryType",
    "Name",
    "PurchaseCost",
    "PurchaseDesc",
    "PurchaseTaxCodeRef",
    "PurchaseTaxIncluded",
    "QtyOnHand",
    "ReverseChargeRate",
    "SalesTaxCodeRef",
    "SalesTaxIncluded",
    "ServiceType",
    "Sku",
    "SubItem",
    "TrackQtyOnHand",
    "Type",
    "UnitPrice",
    "AccountSubType",
    "AccountType",
    "Classification",
    "CurrentBalance",
    "CurrentBalanceWithSubAccounts",
    "SubAccount",
    "TaxCodeRef",
    "DayOfMonthDue",
    "DiscountDayOfMonth",
    "DiscountDays",
    "DiscountPercent",
    "DueDays",
    "DueNextMonthDays",
    "SubClass",
    "SubDepartment",
    "PurchaseTaxRateList",
    "SalesTaxRateList",
    "TaxGroup",
    "OtherAddr",
    "SecondaryTaxIdentifier",
    "TaxExemptionReasonId",
    "BusinessNumber",
    "GSTIN",
    "GSTRegistrationType",
    "Source",
    "ClientEntityId",
    "V4IDPseudonym",
    "CustomerTypeRef",
    "ClassRef",
    "DepartmentRef",
}

# Field -> max length (the QBO API reference values; §5.2).
PEOPLE_LIMITS = {
    "DisplayName": 500,
    "GivenName": 100,
    "MiddleName": 100,
    "FamilyName": 100,
    "Title": 16,
    "Suffix": 16,
    "CompanyName": 100,
    "PrintOnCheckName": 110,
    "Notes": 2000,
    "PrimaryEmailAddr.Address": 100,
    "PrimaryPhone.FreeFormNumber": 30,
}
ITEM_LIMITS = {"Name": 100, "Description": 4000, "PurchaseDesc": 1000, "Sku": 100}
TXN_LIMITS = {
    "DocNumber": 21,
    "PrivateNote": 4000,
    "CustomerMemo.value": 1000,
    "BillEmail.Address": 100,
    "PaymentRefNum": 21,
}
# A vendor's check name is shorter than a customer's (D-VEN: 100, not 110).
VENDOR_LIMITS = {**PEOPLE_LIMITS, "PrintOnCheckName": 100, "TaxIdentifier": 20, "AcctNum": 100}

# Entity name -> (Ref field, referenced entity) checked on transactions.
HEADER_REFS = {
    "CustomerRef": "Customer",
    "SalesTermRef": "Term",
    "ClassRef": "Class",
    "DepartmentRef": "Department",
    "PaymentMethodRef": "PaymentMethod",
    "DepositToAccountRef": "Account",
    "ARAccountRef": "Account",
}
# The same for bills, bill payments and vendor credits.
PAYABLE_REFS = {
    "VendorRef": "Vendor",
    "SalesTermRef": "Term",
    "DepartmentRef": "Department",
    "APAccountRef": "Account",
}
